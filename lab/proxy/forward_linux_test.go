package proxy_test

import (
	"bufio"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// An upstream that resets the connection, or is not there at all, closes
// the client's side too and counts an error; nothing stays active.
func TestTCPErrorClosesBothSides(t *testing.T) {
	w := newWorld(t, 1, false)
	name := w.names[0]
	ns := w.nss[name]
	rst, err := lab.ListenIn(ns, "tcp", "10.0.0.1:9100")
	if err != nil {
		t.Fatal(err)
	}
	defer rst.Close()
	go func() { // read a little, then reset
		for {
			c, err := rst.Accept()
			if err != nil {
				return
			}
			c.Read(make([]byte, 1))
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	p := mustNew(t, proxy.Config{
		Name: "errors",
		Routes: []proxy.Route{
			route("rst", "{tenant}/tcp/127.0.0.1:8080", "{tenant}/tcp/10.0.0.1:9100"),
			route("none", "{tenant}/tcp/127.0.0.1:8081", "{tenant}/tcp/10.0.0.1:9199"),
		},
		Tenants: w.names, Rescan: -1,
	})
	for _, port := range []string{"8080", "8081"} {
		c, err := lab.DialIn(ns, "tcp", "127.0.0.1:"+port, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("x"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadAll(c); err != nil && !notTimeout(err) {
			t.Errorf("port %s: the client read %v; want EOF or a reset, not a timeout", port, err)
		}
		c.Close()
	}
	if !waitFor(func() bool { return p.Stats().Total().Active == 0 }) {
		t.Errorf("%d connections still active", p.Stats().Total().Active)
	}
	for _, r := range p.Stats().Routes {
		if r.Conns != 1 || r.Errors != 1 {
			t.Errorf("route %s: %d conns, %d errors; want 1 and 1", r.Route, r.Conns, r.Errors)
		}
	}
}

// notTimeout reports whether err is anything but a read timeout.
func notTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return !ok || !ne.Timeout()
}

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

// An idle UDP listener waits in the netpoller holding no read buffer: 100
// tenants' UDP listeners add well under the 6.4 MiB that 64 KiB each would,
// and each still answers.
func TestIdleUDPListenersHoldNoBuffer(t *testing.T) {
	w := newWorld(t, 100, false)
	for _, name := range w.names[:2] {
		startBackends(t, w.nss[name], name)
	}
	runtime.GC()
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	mustNew(t, proxy.Config{
		Name:    "udp-idle",
		Routes:  []proxy.Route{route("dns", "{tenant}/udp/127.0.0.1:8080", "{tenant}/udp/10.0.0.1:9000")},
		Tenants: w.names, Rescan: -1,
	})
	time.Sleep(100 * time.Millisecond) // every listener parked in its read
	runtime.GC()
	runtime.ReadMemStats(&b)
	grew := int64(b.HeapAlloc) - int64(a.HeapAlloc)
	t.Logf("heap grew %.2f MiB for 100 UDP listeners", float64(grew)/(1<<20))
	if grew > 2<<20 {
		t.Errorf("heap grew %.1f MiB for 100 idle UDP listeners, want < 2 MiB (64 KiB each would be 6.4)", float64(grew)/(1<<20))
	}
	for _, name := range w.names[:2] {
		for i := range 3 {
			msg := string(rune('a' + i))
			if got := askUDP(t, w.nss[name], "127.0.0.1:8080", msg); got != name+":"+msg {
				t.Errorf("udp in %s answered %q, want %q", name, got, name+":"+msg)
			}
		}
	}
}

// udpProxy forwards each of w's tenants' 127.0.0.1:8080/udp to the
// tenant's backend at 10.0.0.1:9000; a session ends after idle.
func udpProxy(t *testing.T, w *world, name string, idle time.Duration) *proxy.Proxy {
	t.Helper()
	return mustNew(t, proxy.Config{
		Name:    name,
		Routes:  []proxy.Route{route("dns", "{tenant}/udp/127.0.0.1:8080", "{tenant}/udp/10.0.0.1:9000")},
		Tenants: w.names, UDPIdle: idle, Rescan: -1,
	})
}

// A UDP client's session (its upstream socket) ends after UDPIdle without
// traffic; the next datagram from the same client opens a new one.
func TestUDPSessionEndsAfterIdle(t *testing.T) {
	w := newWorld(t, 1, true)
	name := w.names[0]
	p := udpProxy(t, w, "udp-idle", 500*time.Millisecond)
	c, err := lab.DialIn(w.nss[name], "udp", "127.0.0.1:8080", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ask := func(msg string) {
		t.Helper()
		buf := make([]byte, 256)
		for range 20 {
			c.Write([]byte(msg))
			c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
			if n, err := c.Read(buf); err == nil {
				if got := string(buf[:n]); got != name+":"+msg {
					t.Fatalf("answer %q, want %q", got, name+":"+msg)
				}
				return
			}
		}
		t.Fatalf("no answer to %q", msg)
	}
	ask("a")
	ask("b") // same client, same session
	if st := p.Stats().Total(); st.Conns != 1 || st.Active != 1 {
		t.Fatalf("after two datagrams: %d sessions, %d active; want 1 and 1", st.Conns, st.Active)
	}
	if !waitFor(func() bool { return p.Stats().Total().Active == 0 }) {
		t.Fatalf("the session is still active 5s after its last datagram (UDPIdle 500ms)")
	}
	ask("c")
	// A new session; under load a retry may outlive one more idle period,
	// so at least 2, and never more than one open.
	if st := p.Stats().Total(); st.Conns < 2 || st.Active != 1 {
		t.Errorf("after idling out and asking again: %d sessions, %d active; want at least 2 and 1", st.Conns, st.Active)
	}
}

// A UDP session lives from its first datagram: its idle clock starts
// then, before the goroutine that relays its answers looks at it. (That
// goroutine used to start first now and then, find no datagram yet, and
// end the session at once: the answer was lost and the client's next
// datagram opened a second session.) 300 clients ask once each: 300
// sessions, every answer back.
func TestEveryUDPSessionLivesFromItsFirstDatagram(t *testing.T) {
	w := newWorld(t, 1, true)
	name := w.names[0]
	p := udpProxy(t, w, "udp-open", time.Minute)
	const clients = 300
	lost := 0
	buf := make([]byte, 256)
	for range clients {
		// Each client keeps its socket (and so its port) to the end: a
		// port used again would be the same client to the proxy.
		c, err := lab.DialIn(w.nss[name], "udp", "127.0.0.1:8080", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("x"))
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if n, err := c.Read(buf); err != nil || string(buf[:n]) != name+":x" {
			lost++
		}
	}
	st := p.Stats().Total()
	if lost > 0 || st.Conns != clients || st.Active != clients {
		t.Errorf("%d clients asked once each: %d answers lost, %d sessions opened, %d active; want 0 lost and %d sessions, all active", clients, lost, st.Conns, st.Active, clients)
	}
}
