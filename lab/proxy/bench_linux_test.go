package proxy_test

import (
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
	"github.com/nslab/nslab/lab/proxy/bench"
)

// benchWorld is one namespace with a sink-or-echo server at 127.0.0.1:9000
// (first byte 'e': echo one byte; else read everything) and an in-process
// proxy forwarding 127.0.0.1:8080 there.
func benchWorld(b *testing.B) (*lab.Netns, func()) {
	s := labtest.New(b)
	name := labtest.Name("bw")
	ns, err := s.AddNetns(name)
	if err != nil {
		b.Fatal(err)
	}
	s.SetLinkUp("lo", name, true)
	l, err := lab.ListenIn(ns, "tcp", "127.0.0.1:9000")
	if err != nil {
		b.Fatal(err)
	}
	go bench.ServeSinkEcho(l)
	p, err := proxy.New(proxy.Config{Routes: []proxy.Route{route("b", "{tenant}/tcp/127.0.0.1:8080", "{tenant}/tcp/127.0.0.1:9000")}, Tenants: []string{name}, Rescan: -1})
	if err != nil {
		b.Fatal(err)
	}
	return ns, func() { p.Close(); l.Close(); ns.Close() }
}

func benchThroughput(b *testing.B, addr string) {
	ns, done := benchWorld(b)
	defer done()
	c, err := lab.DialIn(ns, "tcp", addr, 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 256<<10)
	buf[0] = 's'
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, c)
}

// BenchmarkThroughputDirect and BenchmarkThroughputProxy push 256 KiB
// writes inside one namespace, straight to the sink or through the proxy
// (both hops in the same namespace; io.Copy splices).
func BenchmarkThroughputDirect(b *testing.B) { benchThroughput(b, "127.0.0.1:9000") }
func BenchmarkThroughputProxy(b *testing.B)  { benchThroughput(b, "127.0.0.1:8080") }

func benchEcho(b *testing.B, addr string) {
	ns, done := benchWorld(b)
	defer done()
	d := lab.Dialer{Netns: ns, Timeout: 5 * time.Second}
	one := []byte{'e'}
	b.ResetTimer()
	for range b.N {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		c.Write(one)
		if _, err := io.ReadFull(c, one); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// BenchmarkConnectEchoDirect and BenchmarkConnectEchoProxy time a new
// connection plus a one-byte echo.
func BenchmarkConnectEchoDirect(b *testing.B) { benchEcho(b, "127.0.0.1:9000") }
func BenchmarkConnectEchoProxy(b *testing.B)  { benchEcho(b, "127.0.0.1:8080") }

// BenchmarkAddTenants binds TCP+UDP listeners in 1000 namespaces with the
// shared strategy (one op = all 1000 tenants, bound and then closed).
func BenchmarkAddTenants(b *testing.B) {
	s := labtest.New(b)
	base := labtest.Name("ba")
	var names []string
	for i := range 1000 {
		name := base + "-" + strconv.Itoa(i)
		ns, err := s.AddNetns(name)
		if err != nil {
			b.Fatal(err)
		}
		ns.Close()
		s.SetLinkUp("lo", name, true)
		names = append(names, name)
	}
	b.ResetTimer()
	for range b.N {
		p, err := proxy.New(proxy.Config{Routes: tenantRoutes(), Tenants: names, Rescan: -1})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		p.Close()
		b.StartTimer()
	}
}
