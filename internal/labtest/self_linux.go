//go:build linux

package labtest

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// CPUSelf is the CPU time, user and system, this process has used, as
// getrusage(2) counts it: a benchmark takes it before and after.
func CPUSelf() time.Duration { return cpuTime(unix.RUSAGE_SELF) }

// CPUChildren is the CPU time, user and system, of this process's children
// that it has waited for (and of theirs that they waited for): what
// processes a benchmark started and reaped have cost.
func CPUChildren() time.Duration { return cpuTime(unix.RUSAGE_CHILDREN) }

func cpuTime(who int) time.Duration {
	var ru unix.Rusage
	unix.Getrusage(who, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Subreaper makes this test process the reaper of what its children
// orphan, as the machine's PID 1 is, until the test ends: a zombie
// sandbox init holds its user namespace (through its credentials) until
// it is reaped, and some VMs' PID 1 reaps late. The test reaps them.
func Subreaper(t testing.TB) {
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	t.Cleanup(func() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
}
