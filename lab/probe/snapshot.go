package probe

import (
	"errors"
	"slices"
	"time"
)

// Types lists the namespace types of /proc/PID/ns, in the order the kernel
// lists them. pid_for_children and time_for_children are the namespaces the
// process's next children will get (they differ from pid and time after an
// unshare, until the next fork).
var Types = []string{"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts"}

// ErrNoProcess means the PID names no process (it never existed, or it has
// exited and been reaped).
var ErrNoProcess = errors.New("no such process")

// Options choose the costlier parts of a snapshot.
type Options struct {
	Threads bool // each thread's id, name and network namespace
	// NoThreadNames reads each thread's id and network namespace but
	// not its name (an open and a read saved per thread: what the panels
	// need of a process with 300 threads).
	NoThreadNames bool
	// ThreadsMaxAge lets a snapshot of another process with many threads
	// (manyThreads or more: a worker with a thread per namespace) reuse
	// the threads it read less than this long ago, when the process (same
	// PID, parent and name) still has as many: a thread started or ended
	// is read at once; one that changed namespace meanwhile may show
	// late. Processes with fewer threads, where threads wander between
	// namespaces in the lessons, are read every time. 0 reads every time.
	ThreadsMaxAge time.Duration
	Sockets       bool // each socket's network namespace, protocol, address
	// SocketsMaxAge lets a snapshot of another process reuse the sockets
	// it read less than this long ago, when the process (same PID, parent
	// and name) holds as many descriptors (Linux 6.2+ counts them for
	// free): a socket opened or closed changes the count and is read at
	// once; one closed and another opened within the age may show late.
	// 0 reads them every time.
	SocketsMaxAge time.Duration
	// Tree adds the process's descendants and what each costs, PSS
	// included (see Tree).
	Tree bool
	// Family is who is whose child, for Tree; nil reads /proc now. One
	// Family serves every snapshot of a refresh.
	Family *Family
	// Prune leaves these descendants, and theirs, out of the tree:
	// processes a caller counts on their own (the lab's proxies, under
	// the lab's own process).
	Prune []int
	// Serial reads everything on the calling goroutine. By default the
	// sockets of a large process and the processes of a large tree are
	// read by up to GOMAXPROCS goroutines at once, which halves the wait
	// on two cores but costs the CPU of waking them: a refresh in the
	// background (the panels) wants the CPU, a command the wait.
	Serial bool
	// PSSMaxAge lets a tree reuse a process's PSS read less than this long
	// ago, when its RSS has not changed since: smaps_rollup walks every
	// page table, the costliest read of a tree. 0 reads it every time.
	PSSMaxAge time.Duration
}

// Thread is one thread of a process.
type Thread struct {
	TID   int    `json:"tid"`
	Comm  string `json:"comm"`
	NetNS uint64 `json:"netns,omitempty"` // 0 when Err says why
	Err   string `json:"error,omitempty"`
}

// Socket is one socket descriptor of a process, in the network namespace it
// was created in (which need not be the process's own).
type Socket struct {
	FD    int    `json:"fd"`
	Inode uint64 `json:"inode,omitempty"` // the socket's inode, as ss -e and /proc/PID/fd show it
	NetNS uint64 `json:"netns,omitempty"` // 0 when Err says why
	Proto string `json:"proto,omitempty"` // tcp, udp, tcp6, udp6, sctp, raw, icmp, unix, netlink, packet...
	Local string `json:"local,omitempty"` // 127.0.0.1:8080, [::1]:53, /run/x.sock, @abstract
	State string `json:"state,omitempty"` // TCP state as ss names it (LISTEN, ESTAB...); LISTEN for unix listeners
	Err   string `json:"error,omitempty"`
}

// Snapshot is what the kernel said about one process at Time. Fields that
// could not be read are zero (or absent from Namespaces) and Errors says
// why, keyed by field: "ns.net", "status", "fds", "threads", "sockets",
// "tree".
type Snapshot struct {
	PID        int               `json:"pid"`
	Comm       string            `json:"comm"`
	PPID       int               `json:"ppid"`
	Time       time.Time         `json:"time"`
	Namespaces map[string]uint64 `json:"namespaces"` // type (see Types) → inode
	Errors     map[string]string `json:"errors,omitempty"`
	NumThreads int               `json:"num_threads"`
	VmRSS      uint64            `json:"vm_rss"` // bytes
	VmHWM      uint64            `json:"vm_hwm"` // bytes: peak RSS
	FDs        int               `json:"fds"`    // open file descriptors
	Threads    []Thread          `json:"threads,omitempty"`
	Sockets    []Socket          `json:"sockets,omitempty"`
	Tree       *Tree             `json:"tree,omitempty"` // with Options.Tree
}

func (s *Snapshot) fail(field string, err string) {
	if s.Errors == nil {
		s.Errors = map[string]string{}
	}
	s.Errors[field] = err
}

// SocketsByNetns counts the sockets per network namespace inode. Sockets
// whose namespace could not be read are not counted.
func (s *Snapshot) SocketsByNetns() map[uint64]int {
	return countByNetns(s.Sockets, func(k Socket) uint64 { return k.NetNS })
}

// ThreadsByNetns counts the threads per network namespace inode. Threads
// whose namespace could not be read are not counted.
func (s *Snapshot) ThreadsByNetns() map[uint64]int {
	return countByNetns(s.Threads, func(t Thread) uint64 { return t.NetNS })
}

// countByNetns counts items per network namespace inode, leaving out those
// whose namespace is 0 (unread).
func countByNetns[T any](items []T, netns func(T) uint64) map[uint64]int {
	m := map[uint64]int{}
	for _, it := range items {
		if ns := netns(it); ns != 0 {
			m[ns]++
		}
	}
	return m
}

// Diff compares one namespace type between two snapshots. A and B are 0
// where that snapshot has no inode for the type (see its Errors); Same is
// then false: unknown is never reported as equal.
type Diff struct {
	Type string `json:"type"`
	A    uint64 `json:"a"`
	B    uint64 `json:"b"`
	Same bool   `json:"same"`
}

// Compare tells, per namespace type, whether a and b share the namespace.
// Snapshots of thread IDs (Take(tid)) compare threads.
func Compare(a, b *Snapshot) []Diff {
	out := make([]Diff, 0, len(Types))
	for _, t := range typesOf(a.Namespaces, b.Namespaces) {
		x, y := a.Namespaces[t], b.Namespaces[t]
		out = append(out, Diff{Type: t, A: x, B: y, Same: x != 0 && x == y})
	}
	return out
}

// diffFrom lists the types whose inode in s is known and differs from ref's.
func diffFrom(s *Snapshot, ref map[string]uint64) []string {
	var out []string
	for _, t := range typesOf(s.Namespaces, nil) {
		if v, r := s.Namespaces[t], ref[t]; v != 0 && r != 0 && v != r {
			out = append(out, t)
		}
	}
	return out
}

// typesOf returns the namespace types present in either map: the known
// ones in kernel order, then any newer ones sorted.
func typesOf(a, b map[string]uint64) []string {
	out := make([]string, 0, len(Types))
	for _, t := range Types {
		_, x := a[t]
		_, y := b[t]
		if x || y {
			out = append(out, t)
		}
	}
	var extra []string
	for _, m := range []map[string]uint64{a, b} {
		for t := range m {
			if !slices.Contains(Types, t) && !slices.Contains(extra, t) {
				extra = append(extra, t)
			}
		}
	}
	slices.Sort(extra)
	return append(out, extra...)
}

// baseType maps pid_for_children and time_for_children to the type whose
// namespaces they are.
func baseType(t string) string {
	switch t {
	case "pid_for_children":
		return "pid"
	case "time_for_children":
		return "time"
	}
	return t
}
