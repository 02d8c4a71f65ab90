package script

import (
	"encoding/json"

	"github.com/nslab/nslab/lab"
)

// switchDemo is the child setup behind `spawn NAME setns NS locked|unlocked`
// (the lock-os-thread lesson): the child opens sockets meant for another
// network namespace from many goroutines at once, to show why the switch
// must lock its OS thread. Unlocked, each goroutine does what naive code
// does: setns into the namespace, block for a moment (any syscall or
// channel wait lets the scheduler move it to another thread), make the
// socket, setns back. The child keeps its sockets and threads as they end
// up, for the probe and the panels to see. Locked, it switches the way
// lab.Do does.
type switchDemo struct {
	Netns  string `json:"netns"` // the namespace's file: /run/netns/nslab-x or /proc/PID/ns/net
	Locked bool   `json:"locked"`
}

// switchDemoSetup names the demo among lab's child setups.
const switchDemoSetup = "switch-demo"

// setup is the demo as a spawned child's setup.
func (d switchDemo) setup() *lab.ChildSetup {
	arg, _ := json.Marshal(d)
	return &lab.ChildSetup{Name: switchDemoSetup, Arg: string(arg)}
}
