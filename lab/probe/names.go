package probe

import (
	"fmt"
	"maps"
	"slices"
	"sync"
)

// Names turns namespace inodes into what a learner recognises: "host" for
// the namespaces of PID 1 (in a sandbox, where PID 1 is the sandbox's init,
// "lab host", and the namespaces the learner logged in with "machine"), the /run/netns name of a named network namespace
// (nslab-alpha: the name `ip netns` shows), the label of a process the lab
// spawned, else "pid N" for the lowest PID that is in it, else the kernel's
// own spelling, net:[4026532301]. Build one with LoadNames per refresh (a
// tick of the panels): it reads /run/netns, PID 1 and the lab's journals
// once, and scans /proc only for an inode nothing else names.
type Names struct {
	mu      sync.Mutex
	host    map[string]uint64            // PID 1's, by type
	hostAs  string                       // what PID 1's are called: "" is "host"
	named   map[string]map[uint64]string // base type → inode → name
	labels  map[int]string               // spawned PID → label
	holders map[string]map[uint64]int    // base type → inode → lowest PID, filled lazily
	scan    func(typ string) map[uint64]int
}

func (n *Names) name(typ string, ino uint64, name string) {
	typ = baseType(typ)
	if n.named == nil {
		n.named = map[string]map[uint64]string{}
	}
	m := n.named[typ]
	if m == nil {
		m = map[uint64]string{}
		n.named[typ] = m
	}
	if _, ok := m[ino]; !ok {
		m[ino] = name
	}
}

// Name names the namespace of type typ (net, pid_for_children...) with
// inode ino.
func (n *Names) Name(typ string, ino uint64) string {
	if ino == 0 {
		return "?"
	}
	if n == nil {
		return fmt.Sprintf("%s:[%d]", baseType(typ), ino)
	}
	base := baseType(typ)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.host[base] == ino {
		return n.hostName()
	}
	if name, ok := n.named[base][ino]; ok {
		return name
	}
	if n.scan != nil {
		if n.holders == nil {
			n.holders = map[string]map[uint64]int{}
		}
		h, ok := n.holders[base]
		if !ok {
			h = n.scan(base)
			n.holders[base] = h
		}
		if pid, ok := h[ino]; ok {
			return fmt.Sprintf("pid %d", pid)
		}
	}
	return fmt.Sprintf("%s:[%d]", base, ino)
}

// HostName is what PID 1's namespaces are called: "host", or in a
// sandbox "lab host" (the machine's are then "machine").
func (n *Names) HostName() string {
	if n == nil || n.hostAs == "" {
		return "host"
	}
	return n.hostAs
}

func (n *Names) hostName() string {
	if n.hostAs == "" {
		return "host"
	}
	return n.hostAs
}

// IsHost reports whether ino is PID 1's namespace of type typ.
func (n *Names) IsHost(typ string, ino uint64) bool {
	if n == nil || ino == 0 {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.host[baseType(typ)] == ino
}

// Label is the name the lab spawned process pid under, or "".
func (n *Names) Label(pid int) string {
	if n == nil {
		return ""
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.labels[pid]
}

// LabPIDs lists the live processes the lab's journals record, sorted.
func (n *Names) LabPIDs() []int {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Sorted(maps.Keys(n.labels))
}

// DiffFromInit lists the namespace types in which s is not where PID 1 is,
// in Types order. Types whose inode is unknown on either side are left
// out (see s.Errors).
func DiffFromInit(s *Snapshot) []string {
	ref, err := initNamespaces()
	if err != nil {
		return nil
	}
	return diffFrom(s, ref)
}
