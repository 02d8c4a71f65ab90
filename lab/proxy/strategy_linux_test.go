package proxy_test

import (
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

func tenantRoutes() []proxy.Route {
	return []proxy.Route{
		route("web", "{tenant}/tcp/127.0.0.1:8080", "{tenant}/tcp/10.0.0.1:9000"),
		route("dns", "{tenant}/udp/127.0.0.1:8080", "{tenant}/udp/10.0.0.1:9000"),
	}
}

// Every strategy serves conflicting addresses: each tenant's 127.0.0.1:8080,
// over TCP and UDP, answers with that tenant's own id; half-close works.
func TestConflictingAddressesAnswerTheirOwnIDInEveryStrategy(t *testing.T) {
	for _, st := range proxy.Strategies() {
		t.Run(string(st), func(t *testing.T) {
			w := newWorld(t, 6, true)
			p := mustNew(t, proxy.Config{Name: "conflict", Strategy: st, Routes: tenantRoutes(), Tenants: w.names})
			for _, name := range w.names {
				if got := hello(t, w.nss[name], "127.0.0.1:8080"); got != name {
					t.Errorf("tcp in %s answered %q", name, got)
				}
				if got := askUDP(t, w.nss[name], "127.0.0.1:8080", "id?"); got != name+":id?" {
					t.Errorf("udp in %s answered %q", name, got)
				}
			}
			// Half-close: the client shuts its sending side; the answer
			// still comes back in full, then EOF.
			c, err := lab.DialIn(w.nss[w.names[0]], "tcp", "127.0.0.1:8080", 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c.Write([]byte("ping"))
			c.(*net.TCPConn).CloseWrite()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			all, err := io.ReadAll(c)
			c.Close()
			if want := w.names[0] + "\nping"; err != nil || string(all) != want {
				t.Errorf("after half-close read %q, %v; want %q then EOF", all, err, want)
			}
			if n := len(p.Stats().Tenants); n != 6 {
				t.Errorf("stats list %d tenants, want 6", n)
			}
		})
	}
}

// Sockets really live in the tenant's namespace (SIOCGSKNS on every socket
// fd of the process, and ss inside the namespace), while every thread of
// the proxy stays in the namespace it started in.
func TestSocketsLiveInTheTenantWhileThreadsStayHome(t *testing.T) {
	w := newWorld(t, 3, true)
	home := labtest.SelfNetns(t)
	p := mustNew(t, proxy.Config{Name: "where", Routes: tenantRoutes(), Tenants: w.names})

	// Hold a connection open through each tenant, so the upstream socket
	// exists too.
	var open []net.Conn
	for _, name := range w.names {
		c, err := lab.DialIn(w.nss[name], "tcp", "127.0.0.1:8080", 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		buf := make([]byte, len(name)+1)
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
	}
	perNs := socketsByNetns(t)
	for _, name := range w.names {
		ino := w.nss[name].Inode()
		// In each tenant: the proxy's TCP and UDP listeners, its accepted
		// and upstream conns; the test's client conn; the backend's three
		// sockets and its accepted conn. Nothing of a tenant lands elsewhere.
		if got := perNs[ino]; got != 10 {
			t.Errorf("%d sockets in %s, want 10 (2 listeners, accepted, upstream, client, 3 backends, backend's accepted)", got, name)
		}
		out := labtest.Cmd(t, "ip", "netns", "exec", lab.SysName(name), "ss", "-Hltn", "sport", "8080")
		if !strings.Contains(string(out), "127.0.0.1:8080") {
			t.Errorf("ss -ltn in %s does not list the proxy's 127.0.0.1:8080:\n%s", name, out)
		}
	}
	for _, l := range p.Listeners() {
		if l.Key.Inode != w.nss[l.Tenant].Inode() {
			t.Errorf("listener %s/%s is keyed by net:[%d], its tenant is net:[%d]", l.Route, l.Tenant, l.Key.Inode, w.nss[l.Tenant].Inode())
		}
	}
	for tid, ino := range labtest.ThreadNetns() {
		if ino != home {
			t.Errorf("thread %d is in net:[%d], want the start namespace net:[%d]", tid, ino, home)
		}
	}
}

// socketsByNetns counts this process's socket fds per namespace inode.
func socketsByNetns(t testing.TB) map[uint64]int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint64]int{}
	for _, e := range ents {
		link, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || !strings.HasPrefix(link, "socket:") {
			continue
		}
		var fd int
		fmt.Sscan(e.Name(), &fd)
		if ino, err := labtest.SocketNetns(fd); err == nil {
			out[ino]++
		}
	}
	return out
}

// Thread counts per strategy at 10, 100 and 200 namespaces, each measured in its
// own worker process (so idle threads of an earlier run do not count):
// shared stays flat, thread-per-namespace and blocking-accept grow with N,
// process-per-namespace runs N+1 processes.
// idleThreads is a worker's thread count once it is idle, read from
// outside as ps would: the worker gives back threads left by bursts (its
// own start, a Stats request) once nothing has moved for a moment, so this
// polls (waitFor) until the count is at most want, and returns the
// last count read.
func idleThreads(t testing.TB, pid, want int) int {
	t.Helper()
	n := 0
	waitFor(func() bool {
		ps, err := proxy.ReadProcStats(pid, "")
		if err != nil {
			t.Fatal(err)
		}
		n = ps.Threads
		return n <= want
	})
	return n
}

func TestThreadCountsPerStrategy(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 200 namespaces")
	}
	w := newWorld(t, 200, false)
	gmp := runtime.GOMAXPROCS(0)
	// What a worker costs before it binds anything: the Go runtime and the
	// binary's package initialisation. Every strategy is judged above it.
	base := func() int {
		c, proc, err := proxy.StartWorker(w.s, "thr-base", proxy.Config{Routes: tenantRoutes(), Rescan: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer w.s.Stop("thr-base", 10*time.Second)
		defer c.Close()
		return idleThreads(t, proc.PID, gmp+4)
	}()
	t.Logf("an idle worker with no tenants: %d threads (GOMAXPROCS %d)", base, gmp)
	shared := map[int]int{}
	for _, st := range proxy.Strategies() {
		for _, n := range []int{10, 100, 200} {
			if st == proxy.ProcessPerNamespace && raceEnabled && n > 100 {
				// 200 race-detector processes do not start within the
				// worker's 30 s on two busy CPUs.
				continue
			}
			t.Run(fmt.Sprintf("%s/%d", st, n), func(t *testing.T) {
				name := fmt.Sprintf("thr-%s-%d", st, n)
				c, proc, err := proxy.StartWorker(w.s, name, proxy.Config{Strategy: st, Routes: tenantRoutes(), Tenants: w.names[:n], Rescan: -1})
				if err != nil {
					t.Fatal(err)
				}
				defer w.s.Stop(name, 10*time.Second)
				defer c.Close()
				time.Sleep(300 * time.Millisecond) // let accept loops settle into their waits
				s, err := c.Stats()
				if err != nil {
					t.Fatal(err)
				}
				want := math.MaxInt // the others keep their threads: read once
				if st == proxy.Shared {
					want = gmp + 4
				}
				self := idleThreads(t, proc.PID, want)
				t.Logf("%s N=%d: worker %d threads; all processes %d threads in %d process(es), RSS %.1f MiB; %d listeners",
					st, n, self, s.Threads, len(s.Procs), float64(s.RSS)/(1<<20), s.Listeners)
				if s.Listeners != 2*n {
					t.Errorf("%d listeners, want %d", s.Listeners, 2*n)
				}
				switch st {
				case proxy.Shared:
					shared[n] = self
					// One goroutine (the hub) waits for every listener,
					// not one each: 2000 of those were 4.7 MiB of stacks.
					if s.Goroutines > 30 {
						t.Errorf("shared: %d goroutines for %d listeners; idle listeners must not each hold one", s.Goroutines, s.Listeners)
					}
					// Issue #3's bound: GOMAXPROCS + 4 (the runtime's sysmon
					// and template thread, one blocked in the netpoller, one
					// spare), whatever the number of namespaces.
					if self > base+2 || self > gmp+4 {
						t.Errorf("shared: %d threads for %d namespaces, want at most 2 more than an empty worker's %d and at most GOMAXPROCS+4 = %d", self, n, base, gmp+4)
					}
				case proxy.ThreadPerNamespace:
					// n locked threads, plus the runtime's own and a spare.
					if self < n || self > n+gmp+6 {
						t.Errorf("thread-per-namespace: %d threads for %d namespaces, want about %d", self, n, n)
					}
				case proxy.BlockingAccept:
					// Every TCP and UDP listener waits in a blocking call.
					if self < 2*n || self > 2*n+gmp+6 {
						t.Errorf("blocking-accept: %d threads for %d listeners, want about %d", self, 2*n, 2*n)
					}
				case proxy.ProcessPerNamespace:
					if len(s.Procs) != n+1 {
						t.Errorf("process-per-namespace runs %d processes, want %d", len(s.Procs), n+1)
					}
					// Children start four at a time (bindWorkers*4), each fork/exec
					// blocking its thread, so up to four threads may be left
					// over from starting them; none is kept per child.
					if self > base+4+2 {
						t.Errorf("process-per-namespace: the parent has %d threads; waiting for children must not cost one each", self)
					}
				}
			})
		}
	}
	if lo, hi := min(shared[10], shared[100], shared[200]), max(shared[10], shared[100], shared[200]); hi-lo > 2 {
		t.Errorf("shared: %d, %d and %d threads at 10, 100 and 200 namespaces: want within 2", shared[10], shared[100], shared[200])
	}
}

// IPv6 and dual-stack listeners of the shared strategy (made raw, served
// by the hub alone) accept, read and answer like IPv4 ones: TCP and UDP on
// [::1], and "tcp" on [::] reached over IPv4.
func TestSharedServesIPv6AndDualStack(t *testing.T) {
	w := newWorld(t, 2, true)
	p := mustNew(t, proxy.Config{Name: "six", Routes: []proxy.Route{
		route("web6", "{tenant}/tcp6/[::1]:8080", "{tenant}/tcp/10.0.0.1:9000"),
		route("dns6", "{tenant}/udp6/[::1]:8080", "{tenant}/udp/10.0.0.1:9000"),
		route("dual", "{tenant}/tcp/[::]:8081", "{tenant}/tcp/10.0.0.1:9000"),
	}, Tenants: w.names})
	for _, name := range w.names {
		ns := w.nss[name]
		if got := hello(t, ns, "[::1]:8080"); got != name {
			t.Errorf("tcp6 in %s answered %q", name, got)
		}
		if got := askUDP(t, ns, "[::1]:8080", "v6?"); got != name+":v6?" {
			t.Errorf("udp6 in %s answered %q", name, got)
		}
		if got := hello(t, ns, "127.0.0.1:8081"); got != name {
			t.Errorf("dual-stack [::]:8081 over IPv4 in %s answered %q", name, got)
		}
		if got := hello(t, ns, "[::1]:8081"); got != name {
			t.Errorf("dual-stack [::]:8081 over IPv6 in %s answered %q", name, got)
		}
	}
	for _, r := range p.Stats().Routes {
		if r.Errors != 0 {
			t.Errorf("route %s/%s counted %d errors", r.Route, r.Tenant, r.Errors)
		}
	}
}

func TestSameAddressManyTenantsEachReachOnlyTheirOwn(t *testing.T) {
	w := newWorld(t, 3, true)
	front := route("front", "host/tcp/127.0.0.1:0", "{tenant}/tcp/10.0.0.1:80")
	front.Mode, front.Host = proxy.HTTP, "{tenant}.lab.test"
	cfg := proxy.Config{
		Name: "same-addr",
		Routes: []proxy.Route{
			route("web", "{tenant}/tcp/127.0.0.1:8080", "{tenant}/tcp/10.0.0.1:9000"),
			route("dns", "{tenant}/udp/127.0.0.1:8080", "{tenant}/udp/10.0.0.1:9000"),
			route("pin", "host/tcp/127.0.0.1:0", w.names[1]+"/tcp/10.0.0.1:9000"),
			front,
		},
		Tenants: w.names,
	}
	p := mustNew(t, cfg)

	for _, name := range w.names {
		if got := hello(t, w.nss[name], "127.0.0.1:8080"); got != name {
			t.Errorf("tcp 127.0.0.1:8080 in %s answered %q", name, got)
		}
		if got := askUDP(t, w.nss[name], "127.0.0.1:8080", "q"); got != name+":q" {
			t.Errorf("udp 127.0.0.1:8080 in %s answered %q", name, got)
		}
	}
	var pin, frontAddr string
	for _, l := range p.Listeners() {
		switch l.Route {
		case "pin":
			pin = l.Addr
		case "front":
			frontAddr = l.Addr
		}
	}
	if got := hello(t, nil, pin); got != w.names[1] {
		t.Errorf("the pinned route reached %q, want %q", got, w.names[1])
	}

	// HTTP by Host: many requests interleaved over a shared transport; a
	// pooled connection must never carry one tenant's request to another.
	var wg sync.WaitGroup
	errs := make(chan string, 300)
	for i := range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := w.names[i%3]
			req, _ := http.NewRequest("GET", "http://"+frontAddr+"/x", nil)
			req.Host = name + ".lab.test"
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.HasPrefix(string(body), name+" "+name+".lab.test /x") {
				errs <- "asked " + name + ", got " + string(body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	req, _ := http.NewRequest("GET", "http://"+frontAddr+"/", nil)
	req.Host = "nobody.lab.test"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("unknown tenant: status %d, want 502", resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
	st := p.Stats()
	for _, r := range st.Routes {
		if r.Route == "front" && r.Tenant == "" { // the route's own: requests for no tenant
			if r.Errors != 1 {
				t.Errorf("front counted %d requests for no tenant, want 1", r.Errors)
			}
			continue
		}
		if r.Route == "front" && r.Conns != 100 {
			t.Errorf("front counted %d requests for %s, want 100", r.Conns, r.Tenant)
		}
		if r.Route == "web" && r.Conns != 1 {
			t.Errorf("web counted %d connections for %s, want 1", r.Conns, r.Tenant)
		}
	}
}
