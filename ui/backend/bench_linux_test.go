package backend

import (
	"context"
	"os"
	"testing"
)

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
