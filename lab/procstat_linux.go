package lab

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// procStat is /proc/PID/stat from field 3 (the state) on: the command
// name before it (field 2) may hold spaces and parentheses, so the fields
// start after the last ')'. Field N of proc(5) is procStat[N-3].
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return strings.Fields(string(b[i+1:])), nil
}

// procStartTime is field 22 of /proc/PID/stat: when the process started, in
// clock ticks since boot. With the PID it names a process uniquely.
func procStartTime(pid int) (uint64, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	if len(f) < 22-2 {
		return 0, fmt.Errorf("parse /proc/%d/stat: too few fields", pid)
	}
	return strconv.ParseUint(f[22-3], 10, 64)
}

// procPPID is field 4 of /proc/PID/stat, the parent's PID (0 if unknown).
func procPPID(pid int) int {
	f, err := procStat(pid)
	if err != nil || len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[4-3])
	return ppid
}

// procZombie reports whether pid is a zombie (field 3, the state, is Z)
// or gone.
func procZombie(pid int) bool {
	f, err := procStat(pid)
	if err != nil {
		return true
	}
	return len(f) > 0 && f[0] == "Z"
}

// ProcAlive reports whether the process pid that started at start (its
// start time, see the journal) still runs: not exited, not a zombie, and
// not a reused PID.
func ProcAlive(pid int, start uint64) bool {
	st, err := procStartTime(pid)
	return err == nil && st == start && !procZombie(pid)
}
