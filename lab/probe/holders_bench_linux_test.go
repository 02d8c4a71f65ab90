package probe_test

import (
	"fmt"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/probe"
)

// BenchmarkFindHolders reads all of /proc for the holders of one namespace
// held by a bind mount and a socket: what `holders NAME` and the TUI's
// holders view cost per refresh (it grows with the processes and
// descriptors of the whole machine, not with the lab).
func BenchmarkFindHolders(b *testing.B) {
	s := labtest.New(b)
	name := labtest.Name("bh")
	n, err := s.AddNetns(name)
	if err != nil {
		b.Fatal(err)
	}
	l, err := lab.ListenIn(n, "tcp", "127.0.0.1:0")
	n.Close()
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	_, ino, err := probe.NamespaceOf(lab.NetnsDir + "/" + lab.SysName(name))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var rep *probe.HolderReport
	for b.Loop() {
		if rep, err = probe.FindHolders("net", ino); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if rep.Count(probe.HeldBySocket) != 1 {
		b.Fatalf("holders %v", rep.Holders)
	}
	b.ReportMetric(float64(rep.Scanned), "procs")
}

// BenchmarkFindHoldersOf100 is the TUI's holders view of a lab with 100
// namespaces: one pass over /proc for all of them.
func BenchmarkFindHoldersOf100(b *testing.B) {
	s := labtest.New(b)
	var inos []uint64
	base := labtest.Name("b") // one random part, then 0..99: no two alike
	for i := range 100 {
		n, err := s.AddNetns(fmt.Sprintf("%s-%d", base, i))
		if err != nil {
			b.Fatal(err)
		}
		inos = append(inos, n.Inode())
		n.Close()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		reps, err := probe.FindHoldersOf("net", inos)
		if err != nil || len(reps) != 100 || reps[inos[0]].Count(probe.HeldByMount) < 1 {
			b.Fatalf("%v %v", reps, err)
		}
	}
}
