package labtest

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// TreeSums is what a person would add up for a process and its
// descendants with ps and cat, sharing no code with lab/probe: the
// descendants from the PPid line of every /proc/*/status, and each one's
// Threads, VmRSS, the Pss of smaps_rollup and the entries of
// /proc/PID/fd.
type TreeSums struct {
	Procs, Threads, FDs int
	RSS, PSS            uint64 // bytes
	PIDs                map[int]bool
}

// TreeByHand adds up root's process tree from /proc, the plain way.
func TreeByHand(root int) TreeSums {
	kids := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			if ppid, ok := StatusField(pid, "PPid"); ok {
				kids[int(ppid)] = append(kids[int(ppid)], pid)
			}
		}
	}
	h := TreeSums{PIDs: map[int]bool{}}
	var walk func(int)
	walk = func(pid int) {
		th, ok := StatusField(pid, "Threads")
		if !ok {
			return
		}
		rss, _ := StatusField(pid, "VmRSS")
		h.PIDs[pid] = true
		h.Procs++
		h.Threads += int(th)
		h.RSS += rss << 10
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "Pss:" {
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				h.PSS += kb << 10
			}
		}
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		h.FDs += len(fds)
		for _, c := range kids[pid] {
			walk(c)
		}
	}
	walk(root)
	return h
}

// StatusField is the first number of a line of /proc/PID/status ("Threads",
// "VmRSS" in kB, "PPid").
func StatusField(pid int, key string) (uint64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == key {
			f := strings.Fields(v)
			if len(f) == 0 {
				return 0, true
			}
			n, err := strconv.ParseUint(f[0], 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// ProcStart is field 22 of /proc/PID/stat, when the process started in
// clock ticks since boot (with the PID, a process's identity); 0 if gone.
func ProcStart(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	st, _ := strconv.ParseUint(f[19], 10, 64)
	return st
}

// UptimeTicks is now, in the clock ticks of ProcStart (USER_HZ, 100).
func UptimeTicks() uint64 {
	b, _ := os.ReadFile("/proc/uptime")
	sec, _ := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return uint64(sec*100) + 1
}

// Near says whether a and b are at most pct percent apart.
func Near(a, b, pct uint64) bool { return a*100 <= b*(100+pct) && b*100 <= a*(100+pct) }

// SettledTree reads root's tree with read (the code under test: its RSS
// and PSS in bytes) between two reads by hand, and again, up to 5 times
// 200 ms apart, while read's figures and the read by hand after it are
// more than pct percent apart: the pages of a tree that has just started
// still move. It returns the last reads by hand, before and after read.
func SettledTree(root int, pct uint64, read func() (rss, pss uint64)) (before, after TreeSums) {
	for try := 0; try < 5; try++ {
		before = TreeByHand(root)
		rss, pss := read()
		after = TreeByHand(root)
		if Near(rss, after.RSS, pct) && Near(pss, after.PSS, pct) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	return before, after
}
