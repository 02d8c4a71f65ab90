package backend

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/probe"
	"github.com/nslab/nslab/lab/proxy"
)

// A lab whose only network namespace is a spawned child's draws it.
func TestTopologyOfALabWithOnlyAChild(t *testing.T) {
	s := labtest.New(t)
	name := labtest.Name("k")
	if _, err := s.Spawn(lab.SpawnOptions{Name: name, Namespaces: []string{"net"}}); err != nil {
		t.Fatal(err)
	}
	snap, err := (&Source{Session: s}).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range snap.Topology {
		names = append(names, n.Name)
	}
	if !slices.Contains(names, name) {
		t.Errorf("topology %v lacks the child %s", names, name)
	}
}

// The panels see a proxy as the lab started it: its strategy, its tree;
// and the lab's own process does not count it again in its own tree.
func TestWatchedProxyHasItsStrategyAndTree(t *testing.T) {
	s := labtest.New(t)
	l := NewLab(s)
	defer l.Close()
	ns, px := labtest.Name("wp"), labtest.Name("wpx")
	for _, line := range []string{
		"netns add " + ns + "{1..3}",
		fmt.Sprintf("proxy start %s strategy=process-per-namespace route {tenant}/tcp/127.0.0.1:80=host/tcp/127.0.0.1:9 tenants %s{1..3}", px, ns),
		"compare " + px,
	} {
		if r := l.Exec(context.Background(), line); r.Err != nil {
			t.Fatalf("%s: %v", line, r.Err)
		}
	}
	src := &Source{Session: s, Watch: l.Watched, Results: l.Results}
	snap, err := src.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byLabel := map[string]int{}
	for i, p := range snap.Procs {
		byLabel[p.Label] = i
	}
	p := snap.Procs[byLabel[px]]
	if p.Kind != "process-per-namespace" || p.Tree == nil || p.Tree.Total.Processes != 4 || p.Tree.Parent.Processes != 1 {
		t.Errorf("the proxy as the panels see it: kind %q, tree %+v", p.Kind, p.Tree)
	}
	self := snap.Procs[byLabel["self"]]
	if self.PID != os.Getpid() || self.Tree == nil || self.Tree.Total.Processes > 2 {
		t.Errorf("self's tree counts the proxy again: %+v", self.Tree)
	}
	// Held against the probe read by hand: the tree is the proxy's.
	tr, err := probe.Take(p.PID, probe.Options{Tree: true})
	if err != nil || tr.Tree.Total.Processes != p.Tree.Total.Processes {
		t.Errorf("probe: %v %+v", err, tr.Tree)
	}
	if snap.Results == nil || len(snap.Results.Rows) != 1 || snap.Results.Rows[0].Processes != 4 || snap.Results.Command != "compare "+px {
		t.Errorf("results: %+v", snap.Results)
	}
}

// BenchmarkSourceSnapshot is the whole read behind one panel refresh for
// this process: namespaces, threads, sockets (lab/probe) and names.
func BenchmarkSourceSnapshot(b *testing.B) {
	s := &Source{Watch: func() []Watched { return []Watched{{"self", os.Getpid(), ""}} }}
	for b.Loop() {
		if _, err := s.Snapshot(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefresh is one refresh of the live panels at the end of the
// thread-savings lesson: 300 tenant namespaces, and three compared workers
// — shared and thread-per-namespace over all 300, process-per-namespace
// over 50 (51 processes) — with the lab itself: every watched process's
// namespaces, threads, sockets and process tree (PSS included), and the
// links of every namespace for the topology. It refreshes once a second
// and reports the CPU this process spends (user + system, getrusage) per
// refresh and as a share of a core: what the panels cost while the lab
// sits idle (budget: 3 %). Run it with -benchtime 60x (a minute: PSS
// is walked again every 30 s).
func BenchmarkRefresh(b *testing.B) {
	s := labtest.New(b)
	base := labtest.Name("rf")
	var tenants []string
	for i := 1; i <= 300; i++ {
		ns, err := s.AddNetns(fmt.Sprintf("%s-%d", base, i))
		if err != nil {
			b.Fatal(err)
		}
		tenants = append(tenants, ns.Name())
		ns.Close()
	}
	watch := []Watched{{"self", os.Getpid(), ""}}
	for i, w := range []struct {
		strategy proxy.Strategy
		tenants  []string
	}{{proxy.Shared, tenants}, {proxy.ThreadPerNamespace, tenants}, {proxy.ProcessPerNamespace, tenants[:50]}} {
		name := labtest.Name("rfp")
		r, err := proxy.ParseRouteFlag(fmt.Sprintf("{tenant}/tcp/127.0.0.1:%d=host/tcp/127.0.0.1:9", 80+i))
		if err != nil {
			b.Fatal(err)
		}
		c, p, err := proxy.StartWorker(s, name, proxy.Config{Strategy: w.strategy, Routes: []proxy.Route{r}, Tenants: w.tenants})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		watch = append(watch, Watched{name, p.PID, string(w.strategy)})
	}
	src := &Source{Session: s, Watch: func() []Watched { return watch }}
	snap, err := src.Snapshot(context.Background())
	if err != nil || snap.Err != "" {
		b.Fatalf("first snapshot: %v %s", err, snap.Err)
	}
	if p := snap.Procs[3]; p.Tree == nil || p.Tree.Total.Processes != 51 {
		b.Fatalf("the process-per-namespace worker's tree: %+v", p.Tree)
	}
	if len(snap.Topology) != 301 {
		b.Fatalf("topology of %d namespaces, want the host and 300", len(snap.Topology))
	}
	// At 1 Hz, as the panels refresh: the probe re-reads what may have
	// changed every second and the rest on its own clock (the constants in
	// source.go: PSS 30 s, another process's unchanged descriptors and a
	// many-threaded worker's threads 10 s, names 10 s, namespaces past the
	// first 12 in turns of 8), so a second is the unit. The CPU this process
	// spends over the whole run (the refreshes and anything else it does
	// meanwhile) divided by the seconds is the share of a core.
	cpu0 := labtest.CPUSelf()
	t0 := time.Now()
	var busy time.Duration
	n := 0
	for b.Loop() {
		t := time.Now()
		if _, err := src.Snapshot(context.Background()); err != nil {
			b.Fatal(err)
		}
		busy += time.Since(t)
		n++
		time.Sleep(time.Until(t0.Add(time.Duration(n) * time.Second)))
	}
	wall := time.Since(t0)
	cpu := labtest.CPUSelf() - cpu0
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "cpu-ms/refresh")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%core")
	b.ReportMetric(float64(busy.Microseconds())/1000/float64(n), "wall-ms/refresh")
}
