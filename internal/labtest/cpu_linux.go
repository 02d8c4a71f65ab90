//go:build linux

package labtest

import (
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
