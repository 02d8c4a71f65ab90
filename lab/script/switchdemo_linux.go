package script

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/probe"
)

func init() {
	lab.RegisterChildSetup(switchDemoSetup, func(arg string) (string, error) {
		var d switchDemo
		if err := json.Unmarshal([]byte(arg), &d); err != nil {
			return "", fmt.Errorf("bad switch demo %q: %w", arg, err)
		}
		return runSwitchDemo(d)
	})
}

// switchDemoSockets is how many sockets (and goroutines) a round opens.
const switchDemoSockets = 32

// runSwitchDemo runs in the child. Unlocked, it repeats rounds (at most 200)
// until the race shows both symptoms: a thread left inside the namespace
// and a socket created outside it. It returns what it saw.
func runSwitchDemo(d switchDemo) (string, error) {
	target, err := lab.OpenNetnsPath("target", d.Netns)
	if err != nil {
		return "", err
	}
	ino := target.Inode()
	if d.Locked {
		fds := openSockets(func() (fd int, err error) {
			err = lab.Do(target, func() error { fd, err = newSocket(); return err })
			return fd, err
		})
		return fmt.Sprintf("locked: %d sockets, %d outside; %d threads inside", len(fds), outside(fds, ino), threadsIn(ino)), nil
	}
	// The origin as naive code reads it: the process's namespace.
	origin, err := unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	fd := target.Fd() // the child never closes target
	all, out := 0, 0
	for round := 1; round <= 200; round++ {
		fds := openSockets(func() (int, error) {
			unix.Setns(fd, unix.CLONE_NEWNET) // this thread, not this goroutine
			time.Sleep(time.Millisecond)      // may wake up on another thread
			s, err := newSocket()
			time.Sleep(time.Millisecond)          // ... and again
			unix.Setns(origin, unix.CLONE_NEWNET) // restores whichever thread it is on now
			return s, err
		})
		all, out = all+len(fds), out+outside(fds, ino) // a socket never changes namespace
		if in := threadsIn(ino); out > 0 && in > 0 {
			return fmt.Sprintf("unlocked: %d sockets, %d outside; %d threads inside (round %d)", all, out, in, round), nil
		}
	}
	return fmt.Sprintf("unlocked: %d sockets, %d outside; %d threads inside (the race did not show in 200 rounds)", all, out, threadsIn(ino)), nil
}

func newSocket() (int, error) {
	return unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
}

// openSockets opens switchDemoSockets sockets at once, each with open on a
// goroutine of its own, and returns those it got. The child keeps them
// open: they are what the probe and the panels count.
func openSockets(open func() (int, error)) []int {
	var mu sync.Mutex
	var fds []int
	var wg sync.WaitGroup
	for range switchDemoSockets {
		wg.Go(func() {
			if fd, err := open(); err == nil {
				mu.Lock()
				fds = append(fds, fd)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return fds
}

// outside counts the sockets not in the namespace ino, asking each socket
// (SIOCGSKNS) through lab.
func outside(fds []int, ino uint64) int {
	n := 0
	for _, fd := range fds {
		if ns, err := lab.NetnsOfSocket("socket", fd); err == nil {
			if ns.Inode() != ino {
				n++
			}
			ns.Close()
		}
	}
	return n
}

// threadsIn counts this process's threads in the namespace ino, as the
// probe reads them (/proc/self/task/TID/ns/net).
func threadsIn(ino uint64) int {
	s, err := probe.Self(probe.Options{Threads: true, NoThreadNames: true})
	if err != nil {
		return 0
	}
	return s.ThreadsByNetns()[ino]
}
