package lab

// SwitchDemo makes a spawned child open sockets meant for another network
// namespace, from many goroutines at once, to show why the switch must lock
// its OS thread. Unlocked, each goroutine does what naive code does: setns
// into the namespace, block for a moment (any syscall or channel wait lets
// the scheduler move it to another thread), make the socket, setns back.
// The child keeps its sockets and threads as they end up, for the probe and
// the panels to see. Locked, it switches the way Do does.
type SwitchDemo struct {
	Netns  string // the namespace's file: /run/netns/nslab-x or /proc/PID/ns/net
	Locked bool
}
