package backend

import (
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/probe"
	"github.com/nslab/nslab/ui/panels"
)

// readProc reads one process for the panels through lab/probe: namespaces,
// each thread's net namespace, RSS, fds, each socket's namespace
// (pidfd_getfd + SIOCGSKNS), and its process tree (fam: who is whose
// child), leaving out the descendants in prune, which have rows of their
// own.
func readProc(pid int, fam *probe.Family, prune []int) panels.Proc {
	p := panels.Proc{PID: pid}
	s, err := probe.Take(pid, probe.Options{Threads: true, NoThreadNames: true, ThreadsMaxAge: threadsMaxAge, Sockets: true, SocketsMaxAge: socketsMaxAge,
		Tree: fam != nil, Family: fam, Prune: prune, PSSMaxAge: pssMaxAge, Serial: true})
	if err != nil {
		p.Err = err.Error()
		return p
	}
	p.Comm, p.NS, p.NumThreads, p.RSS, p.HWM, p.FDs = s.Comm, s.Namespaces, s.NumThreads, s.VmRSS, s.VmHWM, s.FDs
	if t := s.Tree; t != nil {
		usage := func(u probe.Usage) panels.Usage {
			return panels.Usage{Processes: u.Processes, Threads: u.Threads, FDs: u.FDs, RSS: u.RSS, PSS: u.PSS}
		}
		par := t.Parent()
		p.Tree = &panels.Tree{
			Total:   usage(t.Total),
			Parent:  panels.Usage{Processes: 1, Threads: par.Threads, FDs: par.FDs, RSS: par.RSS, PSS: par.PSS},
			Partial: s.Errors["tree"],
		}
		delete(s.Errors, "tree") // shown as "≥" beside the sum, not as a failure
	}
	for _, t := range s.Threads {
		p.Threads = append(p.Threads, panels.Thread{TID: t.TID, Comm: t.Comm, NetNS: t.NetNS})
	}
	for _, so := range s.Sockets {
		p.Sockets = append(p.Sockets, panels.Socket{FD: so.FD, NetNS: so.NetNS, Proto: so.Proto, Local: so.Local})
	}
	if len(s.Errors) > 0 {
		var errs []string
		for k, v := range s.Errors {
			errs = append(errs, k+": "+v)
		}
		sort.Strings(errs)
		p.Err = strings.Join(errs, "; ")
	}
	return p
}

// readNS reads a process's namespace inodes.
func readNS(pid int) (map[string]uint64, error) {
	s, err := probe.Take(pid, probe.Options{})
	if err != nil {
		return nil, err
	}
	if len(s.Namespaces) == 0 {
		return nil, os.ErrPermission
	}
	return s.Namespaces, nil
}

// ownNet reports whether a child has a network namespace of its own.
func ownNet(p *lab.Proc) bool { return slices.Contains(p.Namespaces, "net") }
