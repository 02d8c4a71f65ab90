package lab

import (
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Threads is the number of OS threads of this process: the entries of
// /proc/self/task. (The engine sits under lab/probe, which reads
// /proc/PID/status for everyone else; a directory count needs no parser.)
//
// Raw system calls (rawsys_linux.go): an idle daemon reads the count to
// see whether a thread came back, and a call made the Go scheduler's way
// wakes the runtime's monitor thread, which hands the P to another thread,
// made for it if none is idle, when the call is slow: the count then rose
// because it was read.
func Threads() int {
	n, err := rawCountEntries("/proc/self/task")
	if err != nil {
		return 0
	}
	return n
}

var trimMu sync.Mutex

// TrimThreads gives idle OS threads back to the kernel until at most keep
// remain, or until no more can go, and returns the count before and after.
//
// The Go runtime never ends a thread it made: one made for a burst of
// blocking syscalls (a bind storm across 1000 namespaces, a wave of
// connects) stays parked for the life of the process. The one way to end
// one is the rule the namespace switch relies on: a goroutine that exits
// while locked to its thread takes the thread with it. So each round starts
// a goroutine that locks and returns; the thread that ran it ends, and its
// P goes to an idle thread. When no idle thread is left, handing the P over
// makes a new one, the count stops falling, and TrimThreads stops. Threads
// in syscalls, locked threads and the runtime's own (sysmon, the template
// thread) are never touched. A round costs a thread exit, a few tens of µs.
// It changes nothing process-wide (GOMAXPROCS stays as it is).
//
// Whether to call it is the program's policy, not the library's: the proxy
// daemon does when its config asks (trim_threads), after bursts, never on a
// hot path (under load the runtime would make the threads again).
func TrimThreads(keep int) (before, after int) {
	trimMu.Lock()
	defer trimMu.Unlock()
	before = Threads()
	if before <= keep {
		return before, before
	}
	n, stuck := before, 0
	for n > keep && stuck < 3 {
		// Nothing waits on this goroutine: waking a waiter from it would
		// make the runtime start a thread to run the waiter.
		go func() {
			runtime.LockOSThread()
			if unix.Gettid() == mainThread {
				runtime.UnlockOSThread() // it would be wedged, not ended
			}
			// Return locked: the runtime ends this thread.
		}()
		now := waitThreadsBelow(n, 20*time.Millisecond) // a thread leaves /proc later on a busy machine
		if now < n {
			stuck = 0
		} else {
			stuck++
		}
		n = now
	}
	return before, n
}

// waitThreadsBelow polls the thread count until it drops below n or the
// wait is over: a thread leaves /proc shortly after its goroutine ends.
func waitThreadsBelow(n int, wait time.Duration) int {
	end := time.Now().Add(wait)
	for {
		now := Threads()
		if now < n || time.Now().After(end) {
			return now
		}
		time.Sleep(50 * time.Microsecond)
	}
}
