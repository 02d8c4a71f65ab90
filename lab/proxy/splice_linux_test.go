package proxy_test

import (
	"bufio"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// procIO reads this process's rchar and wchar: bytes through read(2) and
// write(2)-like calls. splice(2) moves bytes without either.
func procIO(t *testing.T) (rchar, wchar int64) {
	t.Helper()
	f, err := os.Open("/proc/self/io")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ": ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "rchar":
			rchar = n
		case "wchar":
			wchar = n
		}
	}
	return
}

// TCP forwarding is zero-copy: pushing 64 MiB through the proxy costs this
// process (client, proxy and backend all in it) the client's writes and the
// backend's reads, and not a second copy of each in the proxy.
func TestTCPForwardingSplices(t *testing.T) {
	w := newWorld(t, 1, false)
	ns := w.nss[w.names[0]]
	sink, err := lab.ListenIn(ns, "tcp", "10.0.0.1:9200")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := sink.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		n, _ := io.CopyBuffer(io.Discard, struct{ io.Reader }{c}, make([]byte, 1<<20))
		got <- n
	}()
	mustNew(t, proxy.Config{
		Name:    "splice",
		Routes:  []proxy.Route{route("bulk", "{tenant}/tcp/127.0.0.1:8080", "{tenant}/tcp/10.0.0.1:9200")},
		Tenants: w.names, Rescan: -1,
	})
	c, err := lab.DialIn(ns, "tcp", "127.0.0.1:8080", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	const total = 64 << 20
	buf := make([]byte, 1<<20)
	r0, w0 := procIO(t)
	for range total / len(buf) {
		if _, err := c.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	if n := <-got; n != total {
		t.Fatalf("the backend read %d bytes, want %d", n, total)
	}
	r1, w1 := procIO(t)
	c.Close()
	dr, dw := r1-r0, w1-w0
	t.Logf("64 MiB through the proxy: rchar +%d MiB, wchar +%d MiB", dr>>20, dw>>20)
	if dr > total*3/2 || dw > total*3/2 {
		t.Errorf("rchar +%d MiB, wchar +%d MiB for 64 MiB: the proxy copied through user space (splice would add none)", dr>>20, dw>>20)
	}
}

// An idle proxied TCP connection costs the worker its two sockets, not
// also two splice pipes per direction held for its whole life: 5000 at
// once would otherwise need 30 000 fds.
func TestIdleConnectionsHoldNoPipes(t *testing.T) {
	w := newWorld(t, 1, true)
	name := w.names[0]
	c, _, err := proxy.StartWorker(w.s, "pipes", proxy.Config{Name: "pipes", Routes: tenantRoutes(), Tenants: w.names})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	var conns []net.Conn
	for range n {
		cl, err := lab.DialIn(w.nss[name], "tcp", "127.0.0.1:8080", 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		// The greeting came through: both directions have spliced.
		if line, err := bufio.NewReader(cl).ReadString('\n'); err != nil || strings.TrimSpace(line) != name {
			t.Fatalf("greeting %q, %v", line, err)
		}
		conns = append(conns, cl)
	}
	var mid proxy.Stats
	waitFor(func() bool {
		mid, _ = c.Stats()
		return mid.Total().Active == n && mid.FDs <= before.FDs+2*n
	})
	t.Logf("%d idle connections: the worker's fds %d → %d (%.1f each)", n, before.FDs, mid.FDs, float64(mid.FDs-before.FDs)/n)
	if mid.Total().Active != n || mid.FDs > before.FDs+2*n {
		t.Errorf("%d active, fds %d → %d: want %d active and at most 2 fds each", mid.Total().Active, before.FDs, mid.FDs, n)
	}
}
