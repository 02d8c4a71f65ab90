package lab_test

import (
	"context"
	"net"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

// BenchmarkListenPlain is the baseline: a TCP listener and a UDP socket
// made and closed in this namespace, without any switch (2 sockets/op).
func BenchmarkListenPlain(b *testing.B) {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	for range b.N {
		l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		c, err := lc.ListenPacket(context.Background(), "udp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		l.Close()
		c.Close()
	}
}

// BenchmarkBindInNamespace makes the same two sockets inside another
// namespace with one switch (BindIn): the difference to ListenPlain, over
// two, is the per-socket cost of binding elsewhere.
func BenchmarkBindInNamespace(b *testing.B) {
	s := labtest.New(b)
	ns := loNetns(b, s, "bb")
	b.ResetTimer()
	for range b.N {
		socks := []lab.Socket{{Network: "tcp", Addr: "127.0.0.1:0"}, {Network: "udp", Addr: "127.0.0.1:0"}}
		if err := lab.BindIn(ns, socks); err != nil {
			b.Fatal(err)
		}
		socks[0].Close()
		socks[1].Close()
	}
}

// BenchmarkDialerInNamespace connects from inside a namespace (socket made
// in the switch, connect on the netpoller) to a listener there.
func BenchmarkDialerInNamespace(b *testing.B) {
	s := labtest.New(b)
	ns := loNetns(b, s, "bd")
	l := labtest.Listen(b, ns, "tcp", "127.0.0.1:0")
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	d := lab.Dialer{Netns: ns}
	b.ResetTimer()
	for range b.N {
		c, err := d.Dial("tcp", l.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}
