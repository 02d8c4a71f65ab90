package proxy_test

import (
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	hang, err := lab.ListenIn(w.nss[hung], "tcp", "10.0.0.1:9200")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		hang.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})

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
	stop := make(chan struct{})
	var served, failed atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			c, err := lab.DialIn(w.nss[healthy], "tcp", "127.0.0.1:8080", 5*time.Second)
			if err != nil {
				failed.Add(1)
				continue
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, len(healthy)+1)
			if _, err := io.ReadFull(c, buf); err != nil || string(buf[:len(healthy)]) != healthy {
				failed.Add(1)
			} else {
				served.Add(1)
			}
			c.Close()
		}
	}()

	// The hung backend: a client sends, gives up and closes. The proxy
	// half-closes towards the backend, which never finishes: after
	// FinTimeout the connection is dropped and counted as an error.
	c, err := lab.DialIn(w.nss[hung], "tcp", "127.0.0.1:8082", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("anyone there?"))
	if !waitFor(func() bool { return routeStats(p, "hang").Active == 1 }) {
		t.Fatalf("the proxy did not take the connection to the hung backend: %+v", routeStats(p, "hang"))
	}
	c.Close()
	if !waitFor(func() bool { return routeStats(p, "hang").Active == 0 }) {
		t.Errorf("a connection to a hung backend is still held after the client left: %+v", routeStats(p, "hang"))
	}
	if st := routeStats(p, "hang"); st.Errors != 1 {
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
	before := served.Load()
	if !waitFor(func() bool { return served.Load() > before+10 }) {
		t.Errorf("the healthy tenant stopped being served")
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("the healthy tenant missed %d of %d requests", failed.Load(), served.Load()+failed.Load())
	}
	t.Logf("healthy tenant: %d requests served, %d failed", served.Load(), failed.Load())
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

// routeStats sums a route's counters over its tenants.
func routeStats(p *proxy.Proxy, name string) proxy.RouteStats {
	sum := proxy.RouteStats{Route: name}
	for _, r := range p.Stats().Routes {
		if r.Route == name {
			sum.Conns += r.Conns
			sum.Active += r.Active
			sum.Errors += r.Errors
		}
	}
	return sum
}
