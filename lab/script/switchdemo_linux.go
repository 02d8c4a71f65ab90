package script

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lab"
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
	target, err := unix.Open(d.Netns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", d.Netns, err)
	}
	var st unix.Stat_t
	unix.Fstat(target, &st)
	ino := st.Ino
	if d.Locked {
		ns, err := lab.OpenNetnsPath("target", d.Netns)
		if err != nil {
			return "", err
		}
		var mu sync.Mutex
		var fds []int
		var wg sync.WaitGroup
		for range switchDemoSockets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lab.Do(ns, func() error {
					fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
					if err == nil {
						mu.Lock()
						fds = append(fds, fd)
						mu.Unlock()
					}
					return err
				})
			}()
		}
		wg.Wait()
		return fmt.Sprintf("locked: %d sockets, %d outside; %d threads inside", len(fds), outside(fds, ino), threadsIn(ino)), nil
	}
	// The origin as naive code reads it: the process's namespace.
	origin, err := unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	var all []int
	for round := 1; round <= 200; round++ {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range switchDemoSockets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				unix.Setns(target, unix.CLONE_NEWNET) // this thread, not this goroutine
				time.Sleep(time.Millisecond)          // may wake up on another thread
				fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
				time.Sleep(time.Millisecond)          // ... and again
				unix.Setns(origin, unix.CLONE_NEWNET) // restores whichever thread it is on now
				if err == nil {
					mu.Lock()
					all = append(all, fd)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if out, in := outside(all, ino), threadsIn(ino); out > 0 && in > 0 {
			return fmt.Sprintf("unlocked: %d sockets, %d outside; %d threads inside (round %d)", len(all), out, in, round), nil
		}
	}
	return fmt.Sprintf("unlocked: %d sockets, %d outside; %d threads inside (the race did not show in 200 rounds)", len(all), outside(all, ino), threadsIn(ino)), nil
}

// outside counts the sockets not in the namespace ino.
func outside(fds []int, ino uint64) int {
	n := 0
	for _, fd := range fds {
		nsfd, err := unix.IoctlRetInt(fd, unix.SIOCGSKNS)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		unix.Fstat(nsfd, &st)
		unix.Close(nsfd)
		if st.Ino != ino {
			n++
		}
	}
	return n
}

// threadsIn counts this process's threads in the namespace ino.
func threadsIn(ino uint64) int {
	tasks, _ := filepath.Glob("/proc/self/task/*/ns/net")
	n := 0
	for _, p := range tasks {
		var st unix.Stat_t
		if unix.Stat(p, &st) == nil && st.Ino == ino {
			n++
		}
	}
	return n
}
