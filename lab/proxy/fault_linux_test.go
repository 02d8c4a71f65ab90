package proxy_test

import (
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// One tenant's trouble is that tenant's alone. While a steady client talks
// to a healthy tenant, another tenant's backend hangs after the client hung
// up, and a third tenant's namespace is deleted underneath the proxy (as
// `ip netns del` does). The proxy counts and reports each, drops what it
// held for them, and the healthy tenant never misses an answer.
func TestFaultsInOneTenantLeaveTheOthersServed(t *testing.T) {
	w := newWorld(t, 3, true)
	healthy, hung, gone := w.names[0], w.names[1], w.names[2]

	// The hung tenant's backend accepts and then never reads nor answers.
	holdIn(t, w.nss[hung], "10.0.0.1:9200")

	p := mustNew(t, proxy.Config{
		Name: "faults",
		Routes: []proxy.Route{
			route("web", "{tenant}/tcp/127.0.0.1:8080", "{tenant}/tcp/10.0.0.1:9000"),
			route("hang", "{tenant}/tcp/127.0.0.1:8082", "{tenant}/tcp/10.0.0.1:9200"),
		},
		Tenants:    w.names,
		Rescan:     50 * time.Millisecond,
		FinTimeout: 300 * time.Millisecond,
	})
	base := runtime.NumGoroutine()

	// Traffic to the healthy tenant for the whole test.
	steady := askSteadily(w, []string{healthy}, 1)

	// The hung backend: a client sends, gives up and closes. The proxy
	// half-closes towards the backend, which never finishes: after
	// FinTimeout the connection is dropped and counted as an error.
	c, err := lab.DialIn(w.nss[hung], "tcp", "127.0.0.1:8082", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("anyone there?"))
	if !waitFor(func() bool { return routeStats(p.Stats(), "hang").Active == 1 }) {
		t.Fatalf("the proxy did not take the connection to the hung backend: %+v", routeStats(p.Stats(), "hang"))
	}
	c.Close()
	if !waitFor(func() bool { return routeStats(p.Stats(), "hang").Active == 0 }) {
		t.Errorf("a connection to a hung backend is still held after the client left: %+v", routeStats(p.Stats(), "hang"))
	}
	if st := routeStats(p.Stats(), "hang"); st.Errors != 1 {
		t.Errorf("hung backend: %d errors counted, want 1", st.Errors)
	}

	// The third tenant's namespace is deleted under the proxy. Its
	// listeners close at the next rescan (a deleted namespace must not be
	// kept alive by our sockets); the tenant stays known.
	if err := w.s.DelNetns(gone); err != nil {
		t.Fatal(err)
	}
	if !waitFor(func() bool { return len(p.Listeners()) == 4 }) {
		t.Errorf("%d listeners after deleting %s, want 4 (2 routes × 2 tenants)", len(p.Listeners()), gone)
	}
	for _, l := range p.Listeners() {
		if l.Key.Inode == w.nss[gone].Inode() {
			t.Errorf("listener %s still in the deleted namespace", l.Route)
		}
	}

	// The healthy tenant was served all along.
	time.Sleep(100 * time.Millisecond)
	before := steady.served.Load()
	if !waitFor(func() bool { return steady.served.Load() > before+10 }) {
		t.Errorf("the healthy tenant stopped being served")
	}
	served, failed := steady.stop()
	if failed != 0 {
		t.Errorf("the healthy tenant missed %d of %d requests (first: %v)", failed, served+failed, steady.firstErr.Load())
	}
	t.Logf("healthy tenant: %d requests served, %d failed", served, failed)
	if !waitFor(func() bool { return runtime.NumGoroutine() <= base }) {
		t.Errorf("%d goroutines after the faults, %d before", runtime.NumGoroutine(), base)
	}
}

// A control request in the middle of shutdown gets an answer or a clear
// error, never a hang or a crash.
func TestControlRequestsDuringShutdown(t *testing.T) {
	w := newWorld(t, 2, true)
	c, proc, err := proxy.StartWorker(w.s, "ftstop", proxy.Config{Name: "ftstop", Routes: tenantRoutes(), Tenants: w.names})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	results := make(chan error, 40)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch i % 3 {
			case 0:
				_, err := c.Stats()
				results <- err
			case 1:
				results <- c.AddTenant(w.names[0])
			default:
				results <- c.RemoveTenant(w.names[1])
			}
		}()
		if i == 10 {
			if err := c.Stop(); err != nil {
				t.Errorf("stop: %v", err)
			}
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second): // a bound on a hang, not a timing assertion
		t.Fatal("control requests hung during shutdown")
	}
	close(results)
	for err := range results {
		if err != nil && err.Error() == "" {
			t.Errorf("an empty error during shutdown")
		}
	}
	if err := w.s.Kill(proc.Name); err != nil {
		t.Logf("kill after stop: %v", err)
	}
}

// The worker runs out of file descriptors: 60 clients hold connections
// open through a proxy whose fd limit leaves room for about 20. It refuses
// what it cannot take (the kernel queues, accept fails with EMFILE and
// backs off), and when the clients leave, everything it held drains: no
// connection stays active, fds and goroutines return to where they were,
// and with the limit back it serves again.
func TestWorkerOutOfFDsDrainsAndRecovers(t *testing.T) {
	w := newWorld(t, 1, true)
	name := w.names[0]
	// A backend that accepts and holds: every proxied connection stays open.
	held := holdIn(t, w.nss[name], "10.0.0.1:9300")

	c, proc, err := proxy.StartWorker(w.s, "ftfd", proxy.Config{
		Name:       "ftfd",
		Routes:     []proxy.Route{route("hold", "{tenant}/tcp/127.0.0.1:8090", "{tenant}/tcp/10.0.0.1:9300"), route("web", "{tenant}/tcp/127.0.0.1:8080", "{tenant}/tcp/10.0.0.1:9000")},
		Tenants:    w.names,
		FinTimeout: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	var old unix.Rlimit
	if err := unix.Prlimit(proc.PID, unix.RLIMIT_NOFILE, nil, &old); err != nil {
		t.Fatal(err)
	}
	tight := unix.Rlimit{Cur: uint64(before.FDs + 20), Max: old.Max}
	if err := unix.Prlimit(proc.PID, unix.RLIMIT_NOFILE, &tight, nil); err != nil {
		t.Fatal(err)
	}

	var clients []net.Conn
	for range 60 {
		cl, err := lab.DialIn(w.nss[name], "tcp", "127.0.0.1:8090", 5*time.Second)
		if err != nil {
			t.Fatal(err) // the kernel accepts into the queue even when the proxy cannot
		}
		cl.Write([]byte("x"))
		clients = append(clients, cl)
	}
	var mid proxy.Stats
	waitFor(func() bool {
		mid, _ = c.Stats()
		r := routeStats(mid, "hold")
		return r.Errors > 0 && mid.FDs >= int(tight.Cur)-4
	})
	r := routeStats(mid, "hold")
	t.Logf("limit %d fds: the worker holds %d fds, %d of 60 connections active, %d errors counted", tight.Cur, mid.FDs, r.Active, r.Errors)
	if r.Errors == 0 {
		t.Errorf("60 connections through %d fds: no error counted (accept should fail with EMFILE)", tight.Cur)
	}

	// Everyone leaves; the limit comes back.
	for _, cl := range clients {
		cl.Close()
	}
	held.release()
	if err := unix.Prlimit(proc.PID, unix.RLIMIT_NOFILE, &old, nil); err != nil {
		t.Fatal(err)
	}
	var after proxy.Stats
	drained := waitFor(func() bool {
		after, err = c.Stats()
		return err == nil && after.Total().Active == 0 && after.FDs <= before.FDs && after.Goroutines <= before.Goroutines
	})
	t.Logf("after: %d active, fds %d → %d, goroutines %d → %d", after.Total().Active, before.FDs, after.FDs, before.Goroutines, after.Goroutines)
	if !drained {
		t.Errorf("did not drain: %d active, fds %d → %d, goroutines %d → %d", after.Total().Active, before.FDs, after.FDs, before.Goroutines, after.Goroutines)
	}
	// And it serves again.
	if got := hello(t, w.nss[name], "127.0.0.1:8080"); got != name {
		t.Errorf("after recovering: answered by %q, want %q", got, name)
	}
}

// max_conns: past it, clients wait in the kernel's accept queue (their
// connect succeeds), and are served as earlier connections end; none is
// accepted only to be failed.
func TestMaxConnsQueuesInsteadOfFailing(t *testing.T) {
	w := newWorld(t, 1, true)
	name := w.names[0]
	hold, err := lab.ListenIn(w.nss[name], "tcp", "10.0.0.1:9301")
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	backends := make(chan net.Conn, 16)
	labtest.AcceptAll(hold, func(c net.Conn) { backends <- c })
	p := mustNew(t, proxy.Config{
		Name:     "maxc",
		Routes:   []proxy.Route{route("hold", "{tenant}/tcp/127.0.0.1:8091", "{tenant}/tcp/10.0.0.1:9301")},
		Tenants:  w.names,
		Rescan:   -1,
		MaxConns: 3,
	})
	var clients []net.Conn
	for range 6 {
		cl, err := lab.DialIn(w.nss[name], "tcp", "127.0.0.1:8091", 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		clients = append(clients, cl)
	}
	waitFor(func() bool { return routeStats(p.Stats(), "hold").Active == 3 })
	time.Sleep(100 * time.Millisecond) // a fourth would have been accepted by now
	if st := routeStats(p.Stats(), "hold"); st.Active != 3 || st.Conns != 3 || st.Errors != 0 {
		t.Fatalf("6 clients, max_conns 3: %d active, %d accepted, %d errors; want 3, 3, 0", st.Active, st.Conns, st.Errors)
	}
	// The first three leave; the three waiting are served.
	for _, cl := range clients[:3] {
		cl.Close()
	}
	for range 3 {
		(<-backends).Close()
	}
	if !waitFor(func() bool { st := routeStats(p.Stats(), "hold"); return st.Conns == 6 && st.Active == 3 }) {
		st := routeStats(p.Stats(), "hold")
		t.Errorf("after three left: %d accepted, %d active; want 6, 3", st.Conns, st.Active)
	}
	for _, cl := range clients[3:] {
		cl.Close()
	}
	for range 3 {
		(<-backends).Close()
	}
	if !waitFor(func() bool { return routeStats(p.Stats(), "hold").Active == 0 }) {
		t.Errorf("%d still active after every client left", routeStats(p.Stats(), "hold").Active)
	}
	if st := routeStats(p.Stats(), "hold"); st.Errors != 0 {
		t.Errorf("%d errors: a queued client must not be failed", st.Errors)
	}
}

// held is a backend that accepts every connection and holds it, never
// reading nor answering, until released.
type held struct {
	mu    sync.Mutex
	conns []net.Conn
}

// holdIn listens on addr in ns and holds what it accepts; the listener
// closes and the held connections are released when the test ends.
func holdIn(t *testing.T, ns *lab.Netns, addr string) *held {
	t.Helper()
	l, err := lab.ListenIn(ns, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	h := &held{}
	labtest.AcceptAll(l, func(c net.Conn) {
		h.mu.Lock()
		h.conns = append(h.conns, c)
		h.mu.Unlock()
	})
	t.Cleanup(func() { l.Close(); h.release() })
	return h
}

// release closes every connection held so far.
func (h *held) release() {
	h.mu.Lock()
	for _, c := range h.conns {
		c.Close()
	}
	h.conns = nil
	h.mu.Unlock()
}
