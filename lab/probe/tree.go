package probe

import (
	"slices"
	"time"
)

// Tree is a process with its descendants (its children, their children,
// and so on), each with what it costs on its own, and the sum: what the
// kernel spends on the whole of it. A proxy that runs one process per
// namespace is its tree, not its parent: 51 processes and 375 threads, not
// the parent's 7.
type Tree struct {
	Procs []TreeProc `json:"procs"` // the process first, then its descendants, depth first
	Total Usage      `json:"total"` // summed over Procs
}

// TreeProc is one process of a tree, on its own.
type TreeProc struct {
	PID     int    `json:"pid"`
	PPID    int    `json:"ppid"`
	Depth   int    `json:"depth"` // 0 for the tree's process, 1 for its children...
	Comm    string `json:"comm"`
	Threads int    `json:"threads"`
	RSS     uint64 `json:"rss"` // bytes
	PSS     uint64 `json:"pss"` // bytes; 0 when Err says why
	FDs     int    `json:"fds"`
	Err     string `json:"error,omitempty"` // what of it could not be read
}

// Usage is what a set of processes costs together. RSS counts a page
// shared by several of them once per process, as each one's VmRSS does;
// PSS (proportional set size, from /proc/PID/smaps_rollup) divides each
// page among the processes that map it, so the PSS of every process on the
// machine adds up to the memory in use, and a tree's PSS is its share.
type Usage struct {
	Processes int    `json:"processes"`
	Threads   int    `json:"threads"`
	RSS       uint64 `json:"rss"` // bytes
	PSS       uint64 `json:"pss"` // bytes
	FDs       int    `json:"fds"`
}

// Parent is the tree's own process, alone.
func (t *Tree) Parent() TreeProc {
	if t == nil || len(t.Procs) == 0 {
		return TreeProc{}
	}
	return t.Procs[0]
}

func (t *Tree) sum() {
	t.Total = Usage{}
	for _, p := range t.Procs {
		t.Total.Processes++
		t.Total.Threads += p.Threads
		t.Total.RSS += p.RSS
		t.Total.PSS += p.PSS
		t.Total.FDs += p.FDs
	}
}

// Family is who was whose child at one moment, from the parent PID of
// every process in /proc. (/proc/PID/task/TID/children would be cheaper,
// but it needs CONFIG_PROC_CHILDREN, which many kernels lack.) One Family
// serves every tree of a refresh.
type Family struct {
	Time time.Time
	kids map[int][]int // parent → children, by PID
}

// Children lists pid's children, by PID.
func (f *Family) Children(pid int) []int { return f.kids[pid] }

// member is a descendant to read: its PID, the parent it had in the family
// and its depth.
type member struct{ pid, ppid, depth int }

// descendants lists pid's descendants depth first, children by PID,
// leaving out those in prune and theirs.
func (f *Family) descendants(pid int, prune []int) []member {
	var out []member
	var walk func(p, depth int)
	walk = func(p, depth int) {
		for _, c := range f.kids[p] {
			if depth > 64 || len(out) > 1<<16 {
				return // a loop could only come from PIDs reused mid-scan
			}
			if slices.Contains(prune, c) {
				continue
			}
			out = append(out, member{c, p, depth})
			walk(c, depth+1)
		}
	}
	walk(pid, 1)
	return out
}
