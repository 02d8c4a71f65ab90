package backend

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/probe"
	"github.com/nslab/nslab/ui/panels"
)

// Snapshot reads every watched process and the lab's topology. Names come
// from lab/probe (host, /run/netns, the labels of spawned children, else
// the lowest PID in the namespace), loaded again whenever the lab's
// namespaces or processes change, and at least every namesMaxAge.
func (s *Source) Snapshot(ctx context.Context) (*panels.Snapshot, error) {
	snap := &panels.Snapshot{Taken: time.Now(), Names: map[panels.NSKey]string{}}
	names := s.loadNames()
	init, err := readNS(1)
	if err != nil {
		// Some sandboxes hide PID 1's namespaces even from root: kernel
		// threads (kthreadd) are in the initial ones too, and failing that
		// the namespaces nslab started in are the next best "host".
		if init, err = kthreaddNS(); err != nil {
			if init, err = readNS(os.Getpid()); err != nil {
				snap.Err = fmt.Sprintf("cannot read PID 1's namespaces: %v", err)
			}
		}
	}
	snap.Init = init
	name := func(t string, ino uint64) {
		k := panels.NSKey{Type: t, Ino: ino}
		if _, ok := snap.Names[k]; ok || ino == 0 {
			return
		}
		if init[t] == ino {
			snap.Names[k] = names.HostName() // "lab host" in a sandbox
			return
		}
		snap.Names[k] = names.Name(t, ino)
	}
	// One read of who is whose child serves every tree; each watched
	// process's tree leaves out the others, which have rows of their own.
	fam, ferr := probe.ReadFamily()
	if ferr != nil {
		snap.Err = "process trees: " + ferr.Error()
	}
	watched := s.watched()
	pids := make([]int, len(watched))
	for i, w := range watched {
		pids[i] = w.PID
	}
	for _, w := range watched {
		if ctx.Err() != nil {
			return snap, ctx.Err()
		}
		p := readProc(w.PID, fam, pids)
		p.Label, p.Kind = w.Label, w.Kind
		snap.Procs = append(snap.Procs, p)
		for t, ino := range p.NS {
			name(t, ino)
		}
		for _, th := range p.Threads {
			name("net", th.NetNS)
		}
		for _, so := range p.Sockets {
			name("net", so.NetNS)
		}
	}
	if s.Session != nil {
		snap.Topology = s.topology()
		panels.PairVeths(snap.Topology)
	}
	if s.Results != nil {
		snap.Results = s.Results()
	}
	return snap, nil
}

// loadNames is probe.LoadNames, kept while nothing the lab made changed:
// reading the journals and /run/netns is a fifth of a refresh with 300
// namespaces.
func (s *Source) loadNames() *probe.Names {
	var key strings.Builder
	if s.Session != nil {
		for _, n := range s.Session.NetnsList() {
			key.WriteString(n + ",")
		}
		for _, p := range s.Session.Procs() {
			fmt.Fprintf(&key, "%s=%d,", p.Name, p.PID)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.names == nil || s.namesKey != key.String() || time.Since(s.namesAt) >= namesMaxAge {
		s.names, s.namesKey, s.namesAt = probe.LoadNames(), key.String(), time.Now()
	}
	return s.names
}

func (s *Source) watched() []Watched {
	if s.Watch != nil {
		return s.Watch()
	}
	out := []Watched{{"self", os.Getpid(), ""}}
	if s.Session != nil {
		for _, p := range s.Session.Procs() {
			out = append(out, Watched{p.Name, p.PID, "spawned"})
		}
	}
	return out
}

// topology lists the host's lab links and every lab namespace's links
// (see topoFresh for which are read at each refresh), then the spawned
// children with a network namespace of their own.
func (s *Source) topology() []panels.Netns {
	owned := map[string]bool{}
	for _, e := range s.Session.Owned() {
		if e.Kind == lab.KindLink && e.Netns == "" {
			owned[lab.ShortName(e.Name)] = true
		}
	}
	var out []panels.Netns
	if host, err := s.Session.Links("host"); err == nil {
		ns := panels.Netns{Name: "host"}
		if _, inside := lab.InSandbox(); inside {
			ns.Name = "lab host" // the sandbox's network namespace
		}
		for _, l := range host {
			if owned[l.Name] {
				ns.Links = append(ns.Links, link(l))
			}
		}
		out = append(out, ns)
	}
	nss := s.Session.NetnsList()
	slices.SortFunc(nss, func(a, b string) int { // ts2 before ts10
		switch {
		case panels.NaturalLess(a, b):
			return -1
		case panels.NaturalLess(b, a):
			return 1
		}
		return 0
	})
	for _, r := range s.readLinks(nss) {
		ns := panels.Netns{Name: r.name}
		for _, l := range r.links {
			ns.Links = append(ns.Links, link(l))
		}
		out = append(out, ns)
	}
	// Spawned children with a network namespace of their own are the
	// "containers" of the veth and bridge lessons.
	for _, p := range s.Session.Procs() {
		if !slices.Contains(p.Namespaces, "net") {
			continue
		}
		links, err := s.Session.Links(p.Name)
		if err != nil {
			continue
		}
		ns := panels.Netns{Name: p.Name}
		for _, l := range links {
			ns.Links = append(ns.Links, link(l))
		}
		out = append(out, ns)
	}
	if len(out) == 1 && len(out[0].Links) == 0 {
		return nil
	}
	return out
}

type namedLinks struct {
	name  string
	links []lab.LinkInfo
}

// readLinks lists the links of the namespaces nss (in that order): the
// first topoFresh now, and of the others the topoRoll read longest ago;
// the rest as last read. A namespace that cannot be listed (deleted
// meanwhile) is left out.
func (s *Source) readLinks(nss []string) []namedLinks {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.links == nil {
		s.links = map[string]linkRead{}
	}
	now := time.Now()
	fresh := map[string]bool{}
	for i, n := range nss {
		if i < topoFresh {
			fresh[n] = true
		}
	}
	rest := slices.Clone(nss[min(topoFresh, len(nss)):])
	slices.SortStableFunc(rest, func(a, b string) int { return s.links[a].at.Compare(s.links[b].at) })
	for _, n := range rest[:min(topoRoll, len(rest))] {
		fresh[n] = true
	}
	var out []namedLinks
	seen := map[string]bool{}
	for _, n := range nss {
		seen[n] = true
		r, ok := s.links[n]
		if fresh[n] || !ok {
			links, err := s.Session.Links(n)
			if err != nil {
				delete(s.links, n)
				continue
			}
			r = linkRead{links, now}
			s.links[n] = r
		}
		out = append(out, namedLinks{n, r.links})
	}
	for n := range s.links {
		if !seen[n] {
			delete(s.links, n)
		}
	}
	return out
}

func link(l lab.LinkInfo) panels.Link {
	return panels.Link{Name: l.Name, Type: l.Type, Up: l.Up, Master: l.Master, Addrs: l.Addrs, Index: l.Index, PeerIdx: l.PeerIdx}
}

// kthreaddNS reads PID 2's namespaces if PID 2 is kthreadd.
func kthreaddNS() (map[string]uint64, error) {
	comm, err := os.ReadFile("/proc/2/comm")
	if err != nil || strings.TrimSpace(string(comm)) != "kthreadd" {
		return nil, fmt.Errorf("PID 2 is not kthreadd")
	}
	return readNS(2)
}
