package backend

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/probe"
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
