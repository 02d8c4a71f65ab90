// Package panels draws nslab's live panels — the namespace matrix, sockets
// by namespace, threads and memory of process trees on one scale, the
// topology and the results of a comparison — from plain data. A panel never reads /proc or talks netlink: the root model gets a
// Snapshot from its source in a tea.Cmd and hands it to each panel.
package panels

import (
	"strconv"
	"strings"
	"time"
)

// Snapshot is one reading of the kernel, as the panels need it.
type Snapshot struct {
	Taken    time.Time
	Procs    []Proc            // watched processes, in display order
	Init     map[string]uint64 // PID 1's namespaces, by type
	Names    map[NSKey]string  // inode names: host, nslab-alpha, pid 4242
	Topology []Netns           // the lab's network namespaces, host first (some, see Hidden)
	// TopologyHidden counts the lab's network namespaces that were not
	// read for the topology (it draws a few; the rest are counted).
	TopologyHidden int
	Results        *Results // the last `compare` table, if the lab printed one
	Err            string   // why the snapshot is partial, if it is
}

// NSKey names one namespace: its type ("net", "uts", ...) and inode.
type NSKey struct {
	Type string
	Ino  uint64
}

// Proc is one watched process.
type Proc struct {
	Label      string // what the learner calls it: self, proxy, c1
	Kind       string // what the lab started it as: "shared" (a proxy's strategy), "spawned"; "" for self
	PID        int
	Comm       string
	NS         map[string]uint64 // by type, as in /proc/PID/ns
	Threads    []Thread
	NumThreads int
	RSS, HWM   uint64 // bytes
	FDs        int
	Sockets    []Socket
	Tree       *Tree  // the process with its descendants; nil if not read
	Err        string // what could not be read (exited, no permission)
}

// Tree is a process with its descendants, summed as the kernel counts
// them, and the process alone.
type Tree struct {
	Total   Usage
	Parent  Usage
	Partial string // why the totals leave some process out, if they do
}

// Usage is what one or more processes cost.
type Usage struct {
	Processes, Threads, FDs int
	RSS, PSS                uint64 // bytes
}

// Usage is the process's cost: its tree's when the tree was read, else
// the process alone (PSS unknown: 0).
func (p Proc) Usage() Usage {
	if p.Tree != nil {
		return p.Tree.Total
	}
	n := p.NumThreads
	if n == 0 {
		n = len(p.Threads)
	}
	return Usage{Processes: 1, Threads: n, FDs: p.FDs, RSS: p.RSS}
}

// Thread is one task of a process and the network namespace it is in.
type Thread struct {
	TID   int
	Comm  string
	NetNS uint64
}

// Socket is one socket fd and the network namespace it lives in.
type Socket struct {
	FD    int
	NetNS uint64
	Proto string
	Local string
}

// Netns is one network namespace of the topology and its interfaces.
type Netns struct {
	Name  string
	Links []Link
}

// Link is one interface. Peer ("ns/name") is filled for veth ends whose
// other end was found (see PairVeths).
type Link struct {
	Name    string
	Type    string
	Up      bool
	Master  string
	Addrs   []string
	Index   int
	PeerIdx int
	Peer    string
}

// Name is what the panels print for a namespace: its resolved name, or
// its inode when nothing names it.
func (s *Snapshot) Name(typ string, ino uint64) string {
	if ino == 0 {
		return "?"
	}
	if n, ok := s.Names[NSKey{typ, ino}]; ok {
		return n
	}
	return strconv.FormatUint(ino, 10)
}

// PairVeths fills Link.Peer for veth pairs: an end in one namespace whose
// PeerIdx is the other's Index, and the other way round. Ends whose peer
// is outside the listed namespaces stay unpaired.
func PairVeths(nss []Netns) {
	type ref struct{ ns, link int }
	byIdx := map[int][]ref{}
	for i, ns := range nss {
		for j, l := range ns.Links {
			if l.Type == "veth" {
				byIdx[l.Index] = append(byIdx[l.Index], ref{i, j})
			}
		}
	}
	for i := range nss {
		for j := range nss[i].Links {
			a := &nss[i].Links[j]
			if a.Type != "veth" || a.PeerIdx == 0 {
				continue
			}
			for _, r := range byIdx[a.PeerIdx] {
				b := nss[r.ns].Links[r.link]
				if (r.ns != i || r.link != j) && b.PeerIdx == a.Index {
					a.Peer = nss[r.ns].Name + "/" + b.Name
					break
				}
			}
		}
	}
}

// NaturalLess orders names as people count: ts2 before ts10.
func NaturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

// digits is the length of the run of ASCII digits s starts with.
func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
