package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// Report is what Run measured.
type Report struct {
	Schema     int           `json:"schema"` // set by whoever writes it out
	Namespaces int           `json:"namespaces"`
	Strategies []StrategyRow `json:"strategies"`
	SocatPerNs StrategyRow   `json:"socat_per_namespace"`
	// IdleWorker is a worker process with the routes and no tenant: what
	// the binary and runtime cost before any namespace (nslab links the
	// TUI's libraries, whose package init alone allocates a few MiB).
	IdleWorker StrategyRow `json:"idle_worker"`
	// LoadSpread is the same load (concurrent connect+echo through a
	// shared worker) spread over more and more namespaces: the worker's
	// threads should depend on the load, not on the namespaces.
	LoadSpread []LoadSpread `json:"load_spread"`
	// Bind cost, in this process: every tenant's TCP+UDP in one switch,
	// against plain Listen+ListenPacket here.
	BindColdMs      float64 `json:"bind_each_cold_ms"` // all namespaces, fresh
	BindWarmMs      float64 `json:"bind_each_warm_ms"` // all namespaces, again
	BindPlainUs     float64 `json:"bind_plain_us_per_socket"`
	BindDoUs        float64 `json:"bind_do_per_netns_us_per_socket"`
	BindEachUs      float64 `json:"bind_each_us_per_socket"`
	BindOverheadUs  float64 `json:"bind_overhead_us_per_socket"` // BindEach over plain
	ThroughputBytes int64   `json:"throughput_bytes"`
	Rounds          int     `json:"rounds"` // throughput and echo: the median of this many interleaved runs
	Direct          float64 `json:"direct_gib_s"`
	Proxied         float64 `json:"proxy_gib_s"`
	Socat           float64 `json:"socat_b131072_gib_s"`
	EchoDirectUs    float64 `json:"echo_p50_direct_us"`
	EchoProxyUs     float64 `json:"echo_p50_proxy_us"`
	EchoSocatUs     float64 `json:"echo_p50_socat_us"`
	// The same direct paths to a server inside the bench process itself:
	// no process boundary at all, so the fastest figure possible here.
	DirectSameProc     float64 `json:"direct_same_process_gib_s"`
	EchoDirectSameProc float64 `json:"echo_p50_direct_same_process_us"`
}

type LoadSpread struct {
	Namespaces  int `json:"namespaces"`
	Conns       int `json:"connections"`
	Concurrency int `json:"concurrency"`
	IdleThreads int `json:"threads_idle"`
	Threads     int `json:"threads_under_load"`     // the median of samples every 10 ms
	MaxThreads  int `json:"threads_under_load_max"` // the most seen
}

type StrategyRow struct {
	Name       string  `json:"name"`
	Namespaces int     `json:"namespaces"`
	Listeners  int     `json:"listeners"`
	Processes  int     `json:"processes"`
	Threads    int     `json:"threads"`
	RSSMiB     float64 `json:"rss_mib"`
	AnonMiB    float64 `json:"rss_anon_mib"`
	BindMs     float64 `json:"bind_ms"`
}

// Options size a Run.
type Options struct {
	Namespaces        int   // tenant namespaces (TCP+UDP listener in each)
	ProcessNamespaces int   // for process-per-namespace (a process each)
	SocatNamespaces   int   // for one socat per namespace
	Bytes             int64 // per throughput run
}

// Run measures every strategy's idle cost and bind time, the bind cost in
// this process, throughput and latency against a direct connection and
// socat, and the same load over more and more namespaces. Progress goes
// to log.
func Run(ctx context.Context, s *lab.Session, o Options, log io.Writer) (Report, error) {
	n, nProc, nSocat, bytes := o.Namespaces, o.ProcessNamespaces, o.SocatNamespaces, o.Bytes
	r := Report{Namespaces: n, ThroughputBytes: bytes}
	names := make([]string, n)
	fmt.Fprintf(log, "bench proxy: creating %d namespaces...\n", n)
	for i := range names {
		names[i] = fmt.Sprintf("bp%d", i)
		ns, err := s.AddNetns(names[i])
		if err != nil {
			return r, err
		}
		ns.Close()
		if err := s.SetLinkUp("lo", names[i], true); err != nil {
			return r, err
		}
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
	}
	fmt.Fprintln(log, "bench proxy: bind cost...")
	if err := benchBindCost(s, names, &r); err != nil {
		return r, err
	}
	routes := []proxy.Route{
		mustRoute("{tenant}/tcp/127.0.0.1:8080={tenant}/tcp/127.0.0.1:9000"),
		mustRoute("{tenant}/udp/127.0.0.1:8080={tenant}/udp/127.0.0.1:9000"),
	}
	routes[0].Name, routes[1].Name = "tcp", "udp"
	fmt.Fprintln(log, "bench proxy: an idle worker with no tenants...")
	idle, err := benchStrategy(s, proxy.Shared, routes, nil)
	if err != nil {
		return r, fmt.Errorf("idle worker: %w", err)
	}
	idle.Name, idle.BindMs = "(idle worker, no tenants)", 0
	r.IdleWorker = idle
	for _, st := range proxy.Strategies() {
		count := n
		if st == proxy.ProcessPerNamespace {
			count = min(n, nProc)
		}
		fmt.Fprintf(log, "bench proxy: %s with %d namespaces...\n", st, count)
		sb, err := benchStrategy(s, st, routes, names[:count])
		if err != nil {
			return r, fmt.Errorf("%s: %w", st, err)
		}
		r.Strategies = append(r.Strategies, sb)
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
	}
	fmt.Fprintf(log, "bench proxy: socat in %d namespaces...\n", min(n, nSocat))
	sb, err := benchSocatPerNs(s, names[:min(n, nSocat)])
	if err != nil {
		return r, err
	}
	r.SocatPerNs = sb
	fmt.Fprintln(log, "bench proxy: throughput and latency...")
	if err := benchTraffic(s, names[0], bytes, &r); err != nil {
		return r, err
	}
	fmt.Fprintln(log, "bench proxy: the same load over more namespaces...")
	if err := loadSpreadRun(s, names, &r); err != nil {
		return r, err
	}
	return r, nil
}

// loadSpreadRun runs the same load — conns connect+1-byte-echo, 8 at a
// time — through a fresh shared worker for 10, 100, ... namespaces (up to
// all of them), connection i going to namespace i mod k, and reads the
// worker's threads before and after.
func loadSpreadRun(s *lab.Session, names []string, r *Report) error {
	const conns, conc = 3000, 8
	nss := make([]*lab.Netns, len(names))
	binds := make([]lab.Bind, len(names))
	for i, n := range names {
		ns, err := s.NetnsOf(n)
		if err != nil {
			return err
		}
		defer ns.Close()
		nss[i] = ns
		binds[i] = lab.Bind{Netns: ns, Socks: []lab.Socket{{Network: "tcp", Addr: "127.0.0.1:9001"}}}
	}
	if err := lab.BindEach(binds); err != nil {
		return err
	}
	for _, b := range binds { // the clients send 'e': echo it, then close
		if b.Err != nil {
			return b.Err
		}
		l := b.Socks[0].Listener
		defer l.Close()
		go ServeSinkEcho(l)
	}
	for k := 10; ; k *= 10 {
		k = min(k, len(names))
		name := fmt.Sprintf("bench-load-%d", k)
		c, proc, err := proxy.StartWorker(s, name, proxy.Config{
			Routes:  []proxy.Route{mustRoute("{tenant}/tcp/127.0.0.1:8083={tenant}/tcp/127.0.0.1:9001")},
			Tenants: names[:k], Rescan: -1,
		})
		if err != nil {
			return err
		}
		ls := LoadSpread{Namespaces: k, Conns: conns, Concurrency: conc}
		time.Sleep(300 * time.Millisecond)
		ls.IdleThreads = threadsOf(proc.PID)
		// Threads during the load, read from outside every 10 ms as ps or
		// the TUI would: the median and the most seen.
		sampled := make(chan []int)
		stopSampling := make(chan struct{})
		go func() {
			var seen []int
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				seen = append(seen, threadsOf(proc.PID))
				select {
				case <-stopSampling:
					sampled <- seen
					return
				case <-t.C:
				}
			}
		}()
		var next atomic.Int64
		var failed atomic.Int64
		var wg sync.WaitGroup
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := []byte{'e'}
				for {
					i := int(next.Add(1)) - 1
					if i >= conns {
						return
					}
					cn, err := lab.DialIn(nss[i%k], "tcp", "127.0.0.1:8083", 2*time.Second)
					if err != nil {
						failed.Add(1)
						continue
					}
					cn.SetDeadline(time.Now().Add(2 * time.Second))
					if _, err := cn.Write(buf); err != nil {
						failed.Add(1)
					} else if _, err := cn.Read(buf); err != nil {
						failed.Add(1)
					}
					cn.Close()
				}
			}()
		}
		wg.Wait()
		close(stopSampling)
		seen := <-sampled
		slices.Sort(seen)
		ls.Threads, ls.MaxThreads = seen[len(seen)/2], seen[len(seen)-1]
		c.Close()
		s.Stop(name, 5*time.Second)
		if n := failed.Load(); n > 0 {
			return fmt.Errorf("load over %d namespaces: %d of %d connections failed", k, n, conns)
		}
		r.LoadSpread = append(r.LoadSpread, ls)
		if k == len(names) {
			return nil
		}
	}
}

func mustRoute(s string) proxy.Route {
	r, err := proxy.ParseRouteFlag(s)
	if err != nil {
		panic(err)
	}
	return r
}

// benchStrategy starts a worker with no tenants, times adding all of them
// over the control socket, waits for it to settle, and reads its cost.
func benchStrategy(s *lab.Session, st proxy.Strategy, routes []proxy.Route, names []string) (StrategyRow, error) {
	sb := StrategyRow{Name: string(st), Namespaces: len(names)}
	name := "bench-" + string(st)
	c, _, err := proxy.StartWorker(s, name, proxy.Config{Strategy: st, Routes: routes, Rescan: -1})
	if err != nil {
		return sb, err
	}
	defer s.Stop(name, 10*time.Second)
	defer c.Close()
	var binds []float64
	bind := func() error {
		t0 := time.Now()
		err := c.AddTenant(names...)
		binds = append(binds, ms(time.Since(t0)))
		return err
	}
	if err := bind(); err != nil {
		return sb, err
	}
	time.Sleep(300 * time.Millisecond)
	stats, err := c.Stats()
	if err != nil {
		return sb, err
	}
	// Idle figures read from outside, as ps or the TUI would, once the
	// worker has settled after answering: the answer to Stats counts the
	// threads busy answering it.
	time.Sleep(300 * time.Millisecond)
	stats.Threads, stats.RSS, stats.RSSAnon = 0, 0, 0
	for i, ps := range stats.Procs {
		if now, err := proxy.ReadProcStats(ps.PID, ps.Name); err == nil {
			stats.Procs[i] = now
		}
		stats.Threads += stats.Procs[i].Threads
		stats.RSS += stats.Procs[i].RSS
		stats.RSSAnon += stats.Procs[i].RSSAnon
	}
	// Two more binds (removing in between), and the median of three: one
	// bind lands in whatever the kernel is still tearing down from the
	// run before. Each goes to a settled worker, as a user's would: past
	// its 100 ms quiet time, when it trims threads and returns memory.
	for range 2 {
		if err := c.RemoveTenant(names...); err != nil {
			return sb, err
		}
		time.Sleep(300 * time.Millisecond)
		if err := bind(); err != nil {
			return sb, err
		}
	}
	sb.BindMs = median(binds)
	sb.Listeners, sb.Processes, sb.Threads = stats.Listeners, len(stats.Procs), stats.Threads
	sb.RSSMiB = float64(stats.RSS) / (1 << 20)
	sb.AnonMiB = float64(stats.RSSAnon) / (1 << 20)
	return sb, nil
}

// threadsOf reads a process's thread count from /proc (0 if it is gone).
func threadsOf(pid int) int {
	ps, _ := proxy.ReadProcStats(pid, "")
	return ps.Threads
}
