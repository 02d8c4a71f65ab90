package probe

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// A namespace lives as long as something holds a reference to it. The
// kernel keeps no list of them, so FindHolders looks everywhere a
// reference can be seen from user space:
//
//   - a process, or some of its threads, in it (/proc/PID/task/TID/ns/TYPE);
//   - a bind mount of it (an nsfs mount in some mount table: /run/netns/NAME
//     is one, a container runtime's sandbox key another);
//   - an open file descriptor on it (/proc/PID/fd/N reads "net:[INODE]");
//   - for a network namespace, a socket created in it: a socket keeps its
//     namespace for life, whichever process holds it and wherever that
//     process runs (asked with SIOCGSKNS on a pidfd_getfd copy);
//   - for a user namespace, every namespace it owns (NS_GET_USERNS), child
//     user namespaces included.
//
// lsns(8) lists the namespaces of processes; a namespace held only by a
// socket, a descriptor or a bind mount has no process in it, and lsns
// (util-linux 2.38) does not show it at all: `ip netns del` on such a
// namespace removes its name, not the namespace.

// Holder kinds.
const (
	HeldByProcess = "process" // every thread of a process is in it
	HeldByThread  = "thread"  // some threads of a process are in it
	HeldByMount   = "mount"   // a bind mount of it
	HeldByFD      = "fd"      // an open descriptor on it
	HeldBySocket  = "socket"  // a socket created in it (network namespaces)
	HeldByOwned   = "owned"   // a namespace it owns (user namespaces)
)

// HolderKinds lists the kinds, in the order a report lists them.
var HolderKinds = []string{HeldByProcess, HeldByThread, HeldByMount, HeldByFD, HeldBySocket, HeldByOwned}

// Holder is one reference to a namespace.
type Holder struct {
	Kind string `json:"kind"`
	PID  int    `json:"pid,omitempty"`  // the process holding it (not for mounts)
	Comm string `json:"comm,omitempty"` // its name
	// Threads: for a process, how many threads it has; for a thread
	// holder, the IDs of the threads that are in the namespace.
	Threads  int     `json:"threads,omitempty"`
	TIDs     []int   `json:"tids,omitempty"`
	Children bool    `json:"for_children,omitempty"` // pid/time: only its next children's
	FD       int     `json:"fd,omitempty"`
	Path     string  `json:"path,omitempty"`   // mount: the mount point
	MountNS  uint64  `json:"mnt_ns,omitempty"` // mount: the mount namespace whose table has it
	Socket   *Socket `json:"socket,omitempty"`
	OwnedNS  string  `json:"owned_ns,omitempty"` // owned: "uts:[4026532301]"
}

// HolderReport is everything found holding one namespace.
type HolderReport struct {
	Type    string   `json:"type"` // net, mnt, user... (base types)
	Inode   uint64   `json:"inode"`
	Holders []Holder `json:"holders"`
	// Scanned is how many processes were read; Errors says what could
	// not be (a process that exited is not an error). A holder hidden
	// from us cannot be counted: the report says so rather than call the
	// namespace free.
	Scanned int      `json:"scanned"`
	Errors  []string `json:"errors,omitempty"`
}

// Count is the number of holders of kind, or of every kind for "".
func (r *HolderReport) Count(kind string) int {
	if kind == "" {
		return len(r.Holders)
	}
	n := 0
	for _, h := range r.Holders {
		if h.Kind == kind {
			n++
		}
	}
	return n
}

// VisibleToLsns reports whether lsns, which lists the namespaces of
// processes, would list the namespace: a process or thread is in it.
func (r *HolderReport) VisibleToLsns() bool {
	return r.Count(HeldByProcess)+r.Count(HeldByThread) > 0
}

// Summary is one line: "2 holders: 1 mount, 1 socket", or "no holders".
func (r *HolderReport) Summary() string {
	if len(r.Holders) == 0 {
		return "no holders"
	}
	var parts []string
	for _, k := range HolderKinds {
		if n := r.Count(k); n > 0 {
			parts = append(parts, plural(n, kindNouns[k]))
		}
	}
	return fmt.Sprintf("%s: %s", plural(len(r.Holders), "holder"), strings.Join(parts, ", "))
}

var kindNouns = map[string]string{HeldByProcess: "process", HeldByThread: "thread", HeldByMount: "mount", HeldByFD: "fd",
	HeldBySocket: "socket", HeldByOwned: "owned namespace"}

func plural(n int, what string) string {
	switch {
	case n == 1:
		return "1 " + what
	case strings.HasSuffix(what, "s"):
		return fmt.Sprintf("%d %ses", n, what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// String describes a holder in one line, as `holders` and `nslab inspect
// --holders` print it.
func (h Holder) String() string {
	who := fmt.Sprintf("pid %d (%s)", h.PID, h.Comm)
	switch h.Kind {
	case HeldByProcess:
		s := fmt.Sprintf("process  %s, all %s", who, plural(h.Threads, "thread"))
		if h.Threads == 1 {
			s = fmt.Sprintf("process  %s, its one thread", who)
		}
		if h.Children {
			s = fmt.Sprintf("process  %s, for the children it starts next", who)
		}
		return s
	case HeldByThread:
		tids := make([]string, 0, len(h.TIDs))
		for _, t := range h.TIDs {
			tids = append(tids, fmt.Sprint(t))
		}
		return fmt.Sprintf("thread   %s: %d of its %d threads (tid %s)", who, len(h.TIDs), h.Threads, strings.Join(tids, ", "))
	case HeldByMount:
		return fmt.Sprintf("mount    %s (in mnt:[%d])", h.Path, h.MountNS)
	case HeldByFD:
		return fmt.Sprintf("fd       %s fd %d", who, h.FD)
	case HeldBySocket:
		s := fmt.Sprintf("socket   %s fd %d", who, h.FD)
		if k := h.Socket; k != nil {
			for _, f := range []string{k.Proto, k.Local, k.State} {
				if f != "" {
					s += " " + f
				}
			}
		}
		return s
	case HeldByOwned:
		return fmt.Sprintf("owned    %s", h.OwnedNS)
	}
	return h.Kind
}

// Text is the report as `holders` and `nslab inspect --holders` print it:
// a summary line naming the namespace (label says what the learner called
// it), then one line per holder, at most max (the rest are counted), then
// whether lsns would list it. names adds the lab's name of a process it
// started.
func (r *HolderReport) Text(label string, names *Names, max int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:[%d] (%s): %s", r.Type, r.Inode, label, r.Summary())
	for i, h := range r.Holders {
		if i == max {
			fmt.Fprintf(&b, "\n  … and %d more", len(r.Holders)-i)
			break
		}
		line := h.String()
		switch l := names.Label(h.PID); {
		case h.PID > 0 && h.PID == os.Getpid():
			line += "  [this nslab]"
		case h.PID > 0 && l != "":
			line += "  [lab: " + l + "]"
		}
		b.WriteString("\n  " + line)
	}
	switch {
	case len(r.Holders) == 0:
		b.WriteString("\n  nothing holds it: the kernel has freed it (or is about to)")
	case r.VisibleToLsns():
		b.WriteString("\n  lsns lists it: a process is in it")
	default:
		b.WriteString("\n  lsns does not list it: no process is in it")
	}
	for _, e := range r.Errors {
		b.WriteString("\n  could not read: " + e)
	}
	return b.String()
}

// sortHolders orders a report: by kind as HolderKinds lists them, then PID,
// then descriptor or path.
func sortHolders(hs []Holder) {
	slices.SortStableFunc(hs, func(a, b Holder) int {
		if ka, kb := slices.Index(HolderKinds, a.Kind), slices.Index(HolderKinds, b.Kind); ka != kb {
			return ka - kb
		}
		if a.PID != b.PID {
			return a.PID - b.PID
		}
		if a.FD != b.FD {
			return a.FD - b.FD
		}
		return strings.Compare(a.Path+a.OwnedNS, b.Path+b.OwnedNS)
	})
}

// UnescapeMount undoes mountinfo's octal escapes (\040 is a space).
func UnescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
