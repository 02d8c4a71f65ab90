package proxy

import (
	"cmp"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Listeners lists every bound socket with its identity.
func (p *Proxy) Listeners() []Listener {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Listener
	for _, ln := range p.keys {
		out = append(out, ln.info())
	}
	slices.SortFunc(out, func(a, b Listener) int {
		return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.Route, b.Route))
	})
	return out
}

var goMemSamples = []metrics.Sample{
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/heap/stacks:bytes"},
	{Name: "/memory/classes/heap/free:bytes"},
	{Name: "/memory/classes/heap/unused:bytes"},
	{Name: "/memory/classes/total:bytes"},
	{Name: "/memory/classes/heap/released:bytes"},
}

// readGoMem reads the Go runtime's memory classes.
func readGoMem() GoMem {
	s := slices.Clone(goMemSamples)
	metrics.Read(s)
	v := func(i int) uint64 { return s[i].Value.Uint64() }
	m := GoMem{Heap: v(0), Stacks: v(1), Free: v(2) + v(3), Released: v(5)}
	m.Runtime = v(4) - m.Heap - m.Stacks - m.Free - m.Released
	return m
}

// activity sums the counters that move when traffic does: equal on two
// reads means nothing was accepted or finished in between (a connection
// adds its bytes when it ends).
func (p *Proxy) activity() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var a uint64
	for _, c := range p.ctrs {
		a += c.conns.Load() + c.errs.Load() + c.bytesIn.Load() + c.bytesOut.Load()
	}
	return a
}

// Stats returns per-route counters and this process's (and its children's)
// threads and memory.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	s := Stats{Name: p.cfg.Name, Strategy: p.cfg.Strategy, Listeners: len(p.keys), Open: p.open.Load()}
	var children []*child
	for n, t := range p.tenants {
		s.Tenants = append(s.Tenants, n)
		if t.child != nil {
			children = append(children, t.child)
		}
	}
	for _, c := range p.ctrs {
		s.Routes = append(s.Routes, c.snapshot())
	}
	p.mu.Unlock()
	sort.Strings(s.Tenants)
	self, _ := ReadProcStats(os.Getpid(), p.cfg.Name)
	s.Procs = append(s.Procs, self)
	for _, c := range children {
		cs, err := c.client.Stats()
		if err != nil {
			continue
		}
		s.Listeners += cs.Listeners
		for _, r := range cs.Routes {
			r.Tenant = c.tenant
			s.Routes = append(s.Routes, r)
		}
		for _, ps := range cs.Procs {
			ps.Name = "ns:" + c.tenant
			s.Procs = append(s.Procs, ps)
		}
	}
	for _, ps := range s.Procs {
		s.Threads += ps.Threads
		s.RSS += ps.RSS
		s.RSSAnon += ps.RSSAnon
	}
	slices.SortFunc(s.Routes, func(a, b RouteStats) int {
		return cmp.Or(cmp.Compare(a.Route, b.Route), cmp.Compare(a.Tenant, b.Tenant))
	})
	s.Namespaces = len(p.nst.held())
	s.Goroutines = runtime.NumGoroutine()
	trimProcs.Lock()
	s.GoMaxProcs = runtime.GOMAXPROCS(0)
	trimProcs.Unlock()
	s.Go = readGoMem()
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		s.FDs = len(ents)
	}
	return s
}

// Metrics is Stats with what Prometheus expects of a process besides.
func (p *Proxy) Metrics() Metrics {
	m := Metrics{Stats: p.Stats(), MaxConns: p.maxConns()}
	m.CPUSeconds, m.StartSeconds = selfCPUAndStart()
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil {
		m.MaxFDs = int(min(rl.Cur, 1<<31))
	}
	return m
}

// selfCPUAndStart reads this process's CPU seconds and start time (since
// the epoch) from /proc.
func selfCPUAndStart() (cpu, start float64) {
	const ticks = 100 // USER_HZ
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 20 {
		return 0, 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	since, _ := strconv.ParseFloat(f[19], 64)
	cpu = (ut + st) / ticks
	if s, err := os.ReadFile("/proc/stat"); err == nil {
		for _, line := range strings.Split(string(s), "\n") {
			if v, ok := strings.CutPrefix(line, "btime "); ok {
				boot, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				start = boot + since/ticks
			}
		}
	}
	return cpu, start
}
