package probe_test

import (
	"net"
	"os"
	"testing"

	"github.com/nslab/nslab/lab/probe"
)

func TestSelfReadsNamespacesStatusAndSockets(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s, err := probe.Self(probe.Options{Threads: true, Sockets: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Errors) > 0 {
		t.Errorf("errors: %v", s.Errors)
	}
	for _, typ := range probe.Types {
		want := nsInode(t, os.Getpid(), typ)
		if got := s.Namespaces[typ]; got != want {
			t.Errorf("%s: got %d, want %d", typ, got, want)
		}
	}
	if s.NumThreads < 1 || len(s.Threads) != s.NumThreads && len(s.Threads) == 0 {
		t.Errorf("threads: %d listed, %d counted", len(s.Threads), s.NumThreads)
	}
	if s.VmRSS == 0 || s.VmHWM < s.VmRSS {
		t.Errorf("rss %d hwm %d", s.VmRSS, s.VmHWM)
	}
	found := false
	for _, k := range s.Sockets {
		if k.Local == l.Addr().String() {
			found = true
			if (k.Proto != "tcp" && k.Proto != "mptcp") || k.State != "LISTEN" || k.NetNS != s.Namespaces["net"] || k.Err != "" {
				t.Errorf("listener: %+v", k)
			}
		}
	}
	if !found {
		t.Errorf("listener %s not among %+v", l.Addr(), s.Sockets)
	}
}
