package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// The load tests run small under `make test` and at issue #8's sizes under
// `make soak` (NSLAB_SOAK=1). They count; they never time.
func soak() bool { return os.Getenv("NSLAB_SOAK") == "1" }

// ask connects to a tenant's 127.0.0.1:8080 from inside it, reads the
// backend's greeting (its tenant's name) and checks an echo.
func ask(ns *lab.Netns, want string) error {
	c, err := lab.DialIn(ns, "tcp", "127.0.0.1:8080", 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if got := strings.TrimSpace(line); got != want {
		return fmt.Errorf("answered by %q, want %q", got, want)
	}
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		return err
	}
	if echo, err := br.ReadString('\n'); err != nil || echo != "ping\n" {
		return fmt.Errorf("echo %q, %v", echo, err)
	}
	return nil
}

// steady is clients asking in a loop, each in its own goroutine, until
// stopped, and what they counted.
type steady struct {
	served, failed atomic.Int64
	firstErr       atomic.Value // the first failure's error
	quit           chan struct{}
	wg             sync.WaitGroup
}

// askSteadily starts clients per tenant named, each asking (ask) in a loop.
func askSteadily(w *world, names []string, clients int) *steady {
	s := &steady{quit: make(chan struct{})}
	for _, name := range names {
		for range clients {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				for {
					select {
					case <-s.quit:
						return
					default:
					}
					if err := ask(w.nss[name], name); err != nil {
						s.failed.Add(1)
						s.firstErr.CompareAndSwap(nil, err)
					} else {
						s.served.Add(1)
					}
				}
			}()
		}
	}
	return s
}

// stop ends the clients, waits for them, and returns their counts.
func (s *steady) stop() (served, failed int64) {
	close(s.quit)
	s.wg.Wait()
	return s.served.Load(), s.failed.Load()
}

type loadResult struct {
	served, failed int64
	maxThreads     int // the proxy's, sampled during the load
	maxFDs         int // the proxy's, sampled during the load
	firstErr       any
}

// load runs clients per tenant, all at once, each asking in a loop until
// the duration is over, and samples the proxy's thread count meanwhile.
func load(w *world, c *proxy.Client, clients int, d time.Duration) loadResult {
	var res loadResult
	s := askSteadily(w, w.names, clients)
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if st, err := c.Stats(); err == nil {
			res.maxThreads = max(res.maxThreads, st.Threads)
			res.maxFDs = max(res.maxFDs, st.FDs)
		}
	}
	res.served, res.failed = s.stop()
	res.firstErr = s.firstErr.Load()
	return res
}

// The same total load over few and many tenants, through the shared proxy
// running as its own process (as `nslab proxy` does): zero failures, every
// answer from the right tenant, the proxy's goroutines and fds back where
// they were after, and its thread count set by the clients, not by the
// number of tenants.
func TestSoakLoadOverManyTenants(t *testing.T) {
	few, many, total, d := 2, 10, 50, 2*time.Second
	if soak() {
		// Issue #8's size: 100 tenants × 50 clients, 5000 at once, and
		// the same 5000 over 10 tenants. A forwarded connection holds two
		// fds in the proxy (its splice pipes only while bytes move), ~10 000
		// at 5000, under this machine's hard limit of 20 000; it held six
		// with io.Copy's pipes, and 40-60% failed (docs/reliability.md).
		// NSLAB_LOAD_CLIENTS sets another total.
		few, many, total, d = 10, 100, 5000, 30*time.Second
	}
	if v := os.Getenv("NSLAB_LOAD_CLIENTS"); v != "" {
		fmt.Sscan(v, &total)
	}
	var threads [2]int
	for i, n := range []int{few, many} {
		w := newWorld(t, n, true)
		c, proc, err := proxy.StartWorker(w.s, fmt.Sprintf("ld%d", n), proxy.Config{Name: "ld", Routes: tenantRoutes(), Tenants: w.names})
		if err != nil {
			t.Fatal(err)
		}
		before, err := c.Stats()
		if err != nil {
			t.Fatal(err)
		}
		res := load(w, c, total/n, d)
		var errs uint64
		if st, err := c.Stats(); err == nil {
			errs = st.Total().Errors - before.Total().Errors
		}
		t.Logf("%d tenants × %d clients for %s: %d requests served, %d failed; proxy at most %d threads (idle: %d) and %d fds, %d errors",
			n, total/n, d, res.served, res.failed, res.maxThreads, before.Threads, res.maxFDs, errs)
		if res.failed != 0 || res.served == 0 {
			t.Errorf("%d tenants: %d of %d requests failed (first: %v)", n, res.failed, res.served+res.failed, res.firstErr)
		}
		threads[i] = res.maxThreads
		var after proxy.Stats
		settled := waitFor(func() bool {
			after, err = c.Stats()
			return err == nil && after.Total().Active == 0 && after.Goroutines <= before.Goroutines && after.FDs <= before.FDs
		})
		t.Logf("proxy goroutines %d → %d, fds %d → %d, RSS %.1f MiB", before.Goroutines, after.Goroutines, before.FDs, after.FDs, float64(after.RSS)/(1<<20))
		if !settled {
			t.Errorf("after the load: %d active, goroutines %d → %d, fds %d → %d",
				after.Total().Active, before.Goroutines, after.Goroutines, before.FDs, after.FDs)
		}
		c.Stop()
		c.Close()
		w.s.Kill(proc.Name)
	}
	// Threads come from concurrent syscalls (accepts, connects, splices),
	// which are the same in both runs.
	if threads[1] > threads[0]+runtime.GOMAXPROCS(0)+2 {
		t.Errorf("the proxy's threads grew with tenants: %d at %d tenants, %d at %d", threads[0], few, threads[1], many)
	}
}

// Tenant namespaces made, served and deleted while the proxy runs: the
// proxy's heap, goroutines and fds come back to where they started.
func TestSoakChurnTenantNamespaces(t *testing.T) {
	n := 50
	if soak() {
		n = 500
	}
	w := newWorld(t, 1, false)
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	labtest.AcceptAll(backend, func(c net.Conn) { defer c.Close(); io.Copy(c, c) })
	p := mustNew(t, proxy.Config{Name: "ch",
		Routes:  []proxy.Route{route("up", "{tenant}/tcp/127.0.0.1:8080", "host/tcp/"+backend.Addr().String())},
		Tenants: w.names, Rescan: -1})
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	// One round first, so that pools and caches exist before the baseline.
	churn := func(i int) {
		name := fmt.Sprintf("%s-c%d", w.names[0], i)
		// Made by hand, not addTenant: its t.Cleanup per namespace would
		// grow the heap this test measures.
		ns, err := w.s.AddNetns(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.s.SetLinkUp("lo", name, true); err != nil {
			t.Fatal(err)
		}
		if err := p.AddTenant(name); err != nil {
			t.Fatal(err)
		}
		c, err := lab.DialIn(ns, "tcp", "127.0.0.1:8080", 5*time.Second)
		if err != nil {
			t.Fatalf("tenant %d: %v", i, err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "x")
		buf := make([]byte, 1)
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatalf("tenant %d: %v", i, err)
		}
		c.Close()
		if err := p.RemoveTenant(name); err != nil {
			t.Fatal(err)
		}
		ns.Close()
		if err := w.s.DelNetns(name); err != nil {
			t.Fatal(err)
		}
	}
	churn(0)
	waitFor(func() bool { return p.Stats().Total().Active == 0 })
	p.Tidy() // the idle splice pipes, kept for the next burst
	h0, g0, f0 := heap(), runtime.NumGoroutine(), openFDs(t)
	for i := 1; i <= n; i++ {
		churn(i)
	}
	ok := waitFor(func() bool {
		p.Tidy()
		// Heap: at most 256 KiB more after n namespaces, under 512 bytes
		// each. A leaked tenant or listener is kilobytes, so a leak shows;
		// the 10% of a 1 MiB heap asked before was within the noise of
		// GC timing and pools (±0.1 MiB between runs, before and after).
		return p.Stats().Total().Active == 0 && runtime.NumGoroutine() <= g0 && openFDs(t) <= f0 && heap() <= h0+256<<10
	})
	h1 := heap()
	t.Logf("%d namespaces churned: heap in use %.2f → %.2f MiB, goroutines %d → %d, fds %d → %d",
		n, float64(h0)/(1<<20), float64(h1)/(1<<20), g0, runtime.NumGoroutine(), f0, openFDs(t))
	if !ok {
		t.Errorf("after churning %d namespaces: heap %d → %d, goroutines %d → %d, fds %d → %d",
			n, h0, h1, g0, runtime.NumGoroutine(), f0, openFDs(t))
	}
	if got := len(p.Listeners()); got != 1 {
		t.Errorf("%d listeners left, want the permanent tenant's 1", got)
	}
}

// Tenants added and removed over and over while traffic flows to others:
// every answer from the right tenant, nothing left behind.
func TestSoakAddRemoveTenantsUnderTraffic(t *testing.T) {
	cycles := 100
	if soak() {
		cycles = 1000
	}
	w := newWorld(t, 4, true)
	steady, pool := w.names[:2], w.names[2:]
	p := mustNew(t, proxy.Config{Name: "ar", Routes: tenantRoutes(), Tenants: steady, Rescan: -1})
	g0, f0 := runtime.NumGoroutine(), openFDs(t)
	clients := askSteadily(w, steady, 4)
	for i := range cycles {
		name := pool[i%len(pool)]
		if err := p.AddTenant(name); err != nil {
			t.Fatalf("cycle %d: add %s: %v", i, name, err)
		}
		if err := ask(w.nss[name], name); err != nil {
			t.Fatalf("cycle %d: the added tenant %s: %v", i, name, err)
		}
		if err := p.RemoveTenant(name); err != nil {
			t.Fatalf("cycle %d: remove %s: %v", i, name, err)
		}
	}
	served, failed := clients.stop()
	t.Logf("%d add/remove cycles; steady tenants: %d requests served, %d failed", cycles, served, failed)
	if failed != 0 {
		t.Errorf("%d of %d steady requests failed (first: %v)", failed, served+failed, clients.firstErr.Load())
	}
	if got, want := len(p.Listeners()), 2*len(tenantRoutes()); got != want {
		t.Errorf("%d listeners after the cycles, want %d (the steady tenants')", got, want)
	}
	if !waitFor(func() bool {
		p.Tidy() // the idle splice pipes, kept for the next burst
		return runtime.NumGoroutine() <= g0 && openFDs(t) <= f0
	}) {
		t.Errorf("after %d cycles: goroutines %d → %d, fds %d → %d", cycles, g0, runtime.NumGoroutine(), f0, openFDs(t))
	}
}
