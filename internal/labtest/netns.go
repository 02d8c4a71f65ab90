package labtest

import (
	"net"
	"testing"

	"github.com/nslab/nslab/lab"
)

// Netns adds the namespace name to s, with its loopback up when loUp
// (a new namespace's lo is down); the handle is closed at the end of the
// test, the namespace when the session closes.
func Netns(t testing.TB, s *lab.Session, name string, loUp bool) *lab.Netns {
	t.Helper()
	ns, err := s.AddNetns(name)
	if err != nil {
		t.Fatalf("add netns %s: %v", name, err)
	}
	t.Cleanup(func() { ns.Close() })
	if loUp {
		if err := s.SetLinkUp("lo", name, true); err != nil {
			t.Fatalf("set lo up in %s: %v", name, err)
		}
	}
	return ns
}

// Listen listens on addr inside ns; the listener is closed at the end of
// the test.
func Listen(t testing.TB, ns *lab.Netns, network, addr string) net.Listener {
	t.Helper()
	l, err := lab.ListenIn(ns, network, addr)
	if err != nil {
		t.Fatalf("listen %s %s in %s: %v", network, addr, ns.Name(), err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// Serve answers every connection l accepts with handle, each on a
// goroutine of its own, until l is closed; a connection is closed when its
// handle returns.
func Serve(l net.Listener, handle func(net.Conn)) {
	acceptEach(l, func(c net.Conn) {
		defer c.Close()
		handle(c)
	})
}

// AcceptAll hands every connection l accepts to serve, which owns it, each
// in its own goroutine, until l is closed; it returns at once: the accept
// loop of a test's backend.
func AcceptAll(l net.Listener, serve func(net.Conn)) { go acceptEach(l, serve) }

func acceptEach(l net.Listener, f func(net.Conn)) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go f(c)
	}
}
