package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// Keep the main goroutine on the main thread, as every test binary does
// (nslab itself does not: lab.GoLocked keeps its switches off that
// thread), so no namespace switch ever runs there: the runtime cannot
// discard the main thread if a switch fails to come back.
func init() { runtime.LockOSThread() }

func TestMain(m *testing.M) { labtest.Main(m) }

// world is a set of tenant namespaces, each with lo up, 10.0.0.1/32 on lo
// (the same address in every tenant) and backends there that answer with
// the tenant's name: TCP and UDP at 10.0.0.1:9000 and 127.0.0.1:9000, HTTP
// at 10.0.0.1:80.
type world struct {
	s     *lab.Session
	base  string // the random start of every tenant's name
	names []string
	nss   map[string]*lab.Netns
}

func newWorld(t testing.TB, n int, backends bool) *world {
	t.Helper()
	w := &world{s: labtest.New(t), nss: map[string]*lab.Netns{}}
	base := labtest.Name("t") // random once; 200 random names would collide
	w.base = base
	for i := range n {
		name := fmt.Sprintf("%s-%d", base, i)
		ns := w.addTenant(t, name, backends)
		w.names = append(w.names, name)
		w.nss[name] = ns
	}
	return w
}

func (w *world) addTenant(t testing.TB, name string, backends bool) *lab.Netns {
	t.Helper()
	ns, err := w.s.AddNetns(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	if err := w.s.SetLinkUp("lo", name, true); err != nil {
		t.Fatal(err)
	}
	if err := w.s.AddAddr("10.0.0.1/32", "lo", name); err != nil {
		t.Fatal(err)
	}
	if backends {
		startBackends(t, ns, name)
	}
	return ns
}

// startBackends serves name over TCP, UDP and HTTP inside ns, until the
// test ends.
func startBackends(t testing.TB, ns *lab.Netns, name string) {
	t.Helper()
	socks := []lab.Socket{
		{Network: "tcp", Addr: "10.0.0.1:9000"},
		{Network: "udp", Addr: "10.0.0.1:9000"},
		{Network: "tcp", Addr: "10.0.0.1:80"},
	}
	if err := lab.BindIn(ns, socks); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	labtest.AcceptAll(socks[0].Listener, func(c net.Conn) { // TCP: the name, then echo
		defer c.Close()
		io.WriteString(c, name+"\n")
		// Through a buffer: io.Copy(c, c) would splice and hold a pipe
		// (two fds) for the connection's life, and at 5000 clients the
		// test process itself ran out of fds.
		io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{c}, make([]byte, 512))
	})
	go func() { // UDP: answer every datagram with name:datagram
		buf := make([]byte, 2048)
		for {
			n, a, err := socks[1].Packet.ReadFrom(buf)
			if err != nil {
				return
			}
			socks[1].Packet.WriteTo([]byte(name+":"+string(buf[:n])), a)
		}
	}()
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, "%s %s %s", name, r.Host, r.URL.Path)
	})}
	go func() { srv.Serve(socks[2].Listener); close(done) }()
	t.Cleanup(func() {
		socks[0].Close()
		socks[1].Close()
		srv.Close()
		<-done
	})
}

// hello connects to addr from inside ns (nil: here) and reads the first line.
func hello(t testing.TB, ns *lab.Netns, addr string) string {
	t.Helper()
	line, err := greet(ns, addr)
	if err != nil {
		t.Fatal(err)
	}
	return line
}

// greet is hello that returns its error instead of ending the test.
func greet(ns *lab.Netns, addr string) (string, error) {
	c, err := lab.DialIn(ns, "tcp", addr, 5*time.Second)
	if err != nil {
		return "", fmt.Errorf("connect %s in %s: %v", addr, ns, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read from %s in %s: %v", addr, ns, err)
	}
	return strings.TrimSpace(line), nil
}

// askUDP sends msg to addr from inside ns and returns the answer.
func askUDP(t testing.TB, ns *lab.Netns, addr, msg string) string {
	t.Helper()
	c, err := lab.DialIn(ns, "udp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 2048)
	for range 20 { // UDP may drop; bounded retries
		c.Write([]byte(msg))
		c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		n, err := c.Read(buf)
		if err == nil {
			return string(buf[:n])
		}
	}
	t.Fatalf("no UDP answer from %s in %s", addr, ns)
	return ""
}

func mustNew(t testing.TB, cfg proxy.Config) *proxy.Proxy {
	t.Helper()
	p, err := proxy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func route(name, listen, target string) proxy.Route {
	l, err := proxy.ParseEndpoint(listen)
	if err != nil {
		panic(err)
	}
	g, err := proxy.ParseEndpoint(target)
	if err != nil {
		panic(err)
	}
	return proxy.Route{Name: name, Listen: l, Target: g}
}

// waitFor polls cond every 10 ms for up to 10 s (a bound on a hang, not a
// timing assertion) and reports whether it came true.
func waitFor(cond func() bool) bool {
	for range 1000 {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// openFDs counts this process's fds after two GCs: io.Copy's splice keeps
// a sync.Pool of pipes that only a GC (and their finalizers) closes; that
// is a cache, not a leak.
func openFDs(t testing.TB) int {
	runtime.GC()
	runtime.GC()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// routeStats sums a route's counters over its tenants.
func routeStats(s proxy.Stats, name string) proxy.RouteStats {
	sum := proxy.RouteStats{Route: name}
	for _, r := range s.Routes {
		if r.Route == name {
			sum.Conns += r.Conns
			sum.Active += r.Active
			sum.Errors += r.Errors
		}
	}
	return sum
}
