package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// proxyBench is the result of `nslab bench proxy`.
type proxyBench struct {
	Schema     int             `json:"schema"`
	Namespaces int             `json:"namespaces"`
	Strategies []strategyBench `json:"strategies"`
	SocatPerNs strategyBench   `json:"socat_per_namespace"`
	// IdleWorker is a worker process with the routes and no tenant: what
	// the binary and runtime cost before any namespace.
	IdleWorker strategyBench `json:"idle_worker"`
	// LoadSpread is the same load (concurrent connect+echo through a
	// shared worker) spread over more and more namespaces: the worker's
	// threads should depend on the load, not on the namespaces.
	LoadSpread []loadSpread `json:"load_spread"`
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

type loadSpread struct {
	Namespaces  int `json:"namespaces"`
	Conns       int `json:"connections"`
	Concurrency int `json:"concurrency"`
	IdleThreads int `json:"threads_idle"`
	Threads     int `json:"threads_under_load"`     // the median of samples every 10 ms
	MaxThreads  int `json:"threads_under_load_max"` // the most seen
}

type strategyBench struct {
	Name       string  `json:"name"`
	Namespaces int     `json:"namespaces"`
	Listeners  int     `json:"listeners"`
	Processes  int     `json:"processes"`
	Threads    int     `json:"threads"`
	RSSMiB     float64 `json:"rss_mib"`
	AnonMiB    float64 `json:"rss_anon_mib"`
	BindMs     float64 `json:"bind_ms"`
}

func init() {
	var asJSON bool
	var n, nProc, nSocat int
	var mib int64
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Measure the proxy: threads and RSS per strategy, bind time, throughput and latency against socat",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, f := range []struct {
				name     string
				v, least int64
			}{{"--count", int64(n), 1}, {"--mib", mib, 1}, {"--process-namespaces", int64(nProc), 1}, {"--socat-namespaces", int64(nSocat), 1}} {
				if f.v < f.least {
					return &exitError{code: 2, err: fmt.Errorf("%s %d: give at least %d", f.name, f.v, f.least)}
				}
			}
			return withSession(cmd.Context(), cmd.ErrOrStderr(), false, func(ctx context.Context, s *lab.Session) error {
				r, err := benchProxy(ctx, s, n, nProc, nSocat, mib<<20, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(cmd.OutOrStdout()).Encode(r)
				}
				printProxyBench(cmd.OutOrStdout(), r)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&n, "count", 1000, "tenant namespaces (TCP+UDP listener in each)")
	cmd.Flags().IntVar(&n, "namespaces", 1000, "same as --count")
	cmd.Flags().MarkHidden("namespaces")
	cmd.Flags().IntVar(&nProc, "process-namespaces", 100, "namespaces for process-per-namespace (a process each)")
	cmd.Flags().IntVar(&nSocat, "socat-namespaces", 100, "namespaces for one socat per namespace")
	cmd.Flags().Int64Var(&mib, "mib", 256, "MiB per throughput run (1024 for the issue's 1 GiB figure)")
	benchCmd.AddCommand(cmd)
}

func printProxyBench(w io.Writer, r proxyBench) {
	fmt.Fprintf(w, "idle cost of TCP+UDP listeners in N namespaces (each in its own process)\n")
	fmt.Fprintln(w, "strategy                   namespaces  listeners  processes  threads   RSS MiB  (anon)  bind ms")
	rows := append(append([]strategyBench{r.IdleWorker}, r.Strategies...), r.SocatPerNs)
	for _, s := range rows {
		bind := "-"
		if s.BindMs > 0 {
			bind = fmt.Sprintf("%.1f", s.BindMs)
		}
		fmt.Fprintf(w, "%-26s %10d %10d %10d %8d %9.1f %7.1f %8s\n", s.Name, s.Namespaces, s.Listeners, s.Processes, s.Threads, s.RSSMiB, s.AnonMiB, bind)
	}
	fmt.Fprintf(w, "\nbinding TCP+UDP in all %d namespaces in this process (fd table grown first):\n", r.Namespaces)
	fmt.Fprintf(w, "  a thread per CPU, each visiting its share (BindEach): %.1f ms fresh namespaces, %.1f ms again\n", r.BindColdMs, r.BindWarmMs)
	fmt.Fprintf(w, "  per socket: plain here %.1f µs, a Do per namespace %.1f µs, BindEach %.1f µs: overhead %.1f µs\n", r.BindPlainUs, r.BindDoUs, r.BindEachUs, r.BindOverheadUs)
	fmt.Fprintf(w, "\nTCP inside a namespace, to a sink/echo server in its own process; %d MiB each, side by side (median of %d interleaved runs):\n", r.ThroughputBytes>>20, r.Rounds)
	fmt.Fprintf(w, "  direct            %6.2f GiB/s  (%.2f GiB/s to a server in the sender's own process)\n", r.Direct, r.DirectSameProc)
	fmt.Fprintf(w, "  nslab proxy       %6.2f GiB/s  (%.2f of direct, %.2fx socat)\n", r.Proxied, r.Proxied/r.Direct, r.Proxied/r.Socat)
	fmt.Fprintf(w, "  socat -b 131072   %6.2f GiB/s  (%.2f of direct)\n", r.Socat, r.Socat/r.Direct)
	if len(r.LoadSpread) > 0 {
		fmt.Fprintf(w, "\nthe same load (%d connect+echo, %d at a time) through a shared worker, spread over:\n", r.LoadSpread[0].Conns, r.LoadSpread[0].Concurrency)
		for _, l := range r.LoadSpread {
			fmt.Fprintf(w, "  %5d namespaces: %d threads idle; under the load %d (median of 10 ms samples), at most %d\n", l.Namespaces, l.IdleThreads, l.Threads, l.MaxThreads)
		}
	}
	fmt.Fprintf(w, "\nconnect + 1-byte echo, p50: direct %.1f µs, proxy %.1f µs (%.2fx), socat %.1f µs (%.2fx)\n",
		r.EchoDirectUs, r.EchoProxyUs, r.EchoProxyUs/r.EchoDirectUs, r.EchoSocatUs, r.EchoSocatUs/r.EchoDirectUs)
	fmt.Fprintf(w, "  to an echo server in the client's own process (no process boundary): direct %.1f µs (proxy %.2fx that)\n",
		r.EchoDirectSameProc, r.EchoProxyUs/r.EchoDirectSameProc)
}

func benchProxy(ctx context.Context, s *lab.Session, n, nProc, nSocat int, bytes int64, log io.Writer) (proxyBench, error) {
	r := proxyBench{Schema: jsonSchema, Namespaces: n, ThroughputBytes: bytes}
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
	if err := benchLoadSpread(s, names, &r); err != nil {
		return r, err
	}
	return r, nil
}

// benchLoadSpread runs the same load — conns connect+1-byte-echo, 8 at a
// time — through a fresh shared worker for 10, 100, ... namespaces (up to
// all of them), connection i going to namespace i mod k, and reads the
// worker's threads before and after.
func benchLoadSpread(s *lab.Session, names []string, r *proxyBench) error {
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
		go serveSinkEcho(l)
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
		ls := loadSpread{Namespaces: k, Conns: conns, Concurrency: conc}
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
func benchStrategy(s *lab.Session, st proxy.Strategy, routes []proxy.Route, names []string) (strategyBench, error) {
	sb := strategyBench{Name: string(st), Namespaces: len(names)}
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

// benchSocatPerNs starts what a user would reach for instead: one socat
// per namespace, forking per connection.
func benchSocatPerNs(s *lab.Session, names []string) (strategyBench, error) {
	sb := strategyBench{Name: "socat per namespace", Namespaces: len(names)}
	if _, err := exec.LookPath("socat"); err != nil {
		return sb, nil
	}
	var pids []int
	for i, n := range names {
		cmd := exec.Command("ip", "netns", "exec", lab.SysName(n), "socat", "TCP-LISTEN:8080,bind=127.0.0.1,fork,reuseaddr", "TCP:127.0.0.1:9000")
		p, err := s.StartProcess(fmt.Sprintf("socat-%d", i), cmd)
		if err != nil {
			return sb, err
		}
		pids = append(pids, p.PID)
	}
	defer func() {
		for i := range names {
			s.Stop(fmt.Sprintf("socat-%d", i), 2*time.Second)
		}
	}()
	time.Sleep(500 * time.Millisecond)
	for _, pid := range pids {
		ps, err := proxy.ReadProcStats(pid, "socat")
		if err != nil {
			continue
		}
		sb.Processes++
		sb.Listeners++
		sb.Threads += ps.Threads
		sb.RSSMiB += float64(ps.RSS) / (1 << 20)
		sb.AnonMiB += float64(ps.RSSAnon) / (1 << 20)
	}
	return sb, nil
}

// benchBindCost times binding TCP+UDP for every namespace, in this
// process with the fd table grown up front: first in fresh namespaces
// (cold: the kernel sets up each namespace's tables on its first socket),
// then plain binds here, one Do per namespace, and BindEach (one thread
// visiting every namespace), all warm.
func benchBindCost(s *lab.Session, names []string, r *proxyBench) error {
	k := len(names)
	if _, err := lab.ReserveFDs(4*k + 64); err != nil {
		return err
	}
	nss := make([]*lab.Netns, k)
	for i := range nss {
		ns, err := s.NetnsOf(names[i])
		if err != nil {
			return err
		}
		defer ns.Close()
		nss[i] = ns
	}
	pair := func() []lab.Socket {
		return []lab.Socket{{Network: "tcp", Addr: "127.0.0.1:8080"}, {Network: "udp", Addr: "127.0.0.1:8080"}}
	}
	each := func() (time.Duration, error) {
		binds := make([]lab.Bind, k)
		for i := range binds {
			binds[i] = lab.Bind{Netns: nss[i], Socks: pair()}
		}
		t0 := time.Now()
		err := lab.BindEach(binds)
		d := time.Since(t0)
		for _, b := range binds {
			if b.Err != nil && err == nil {
				err = b.Err
			}
			for _, sk := range b.Socks {
				sk.Close()
			}
		}
		return d, err
	}
	cold, err := each()
	if err != nil {
		return err
	}
	var socks []lab.Socket
	t0 := time.Now()
	for range k {
		p := []lab.Socket{{Network: "tcp", Addr: "127.0.0.1:0"}, {Network: "udp", Addr: "127.0.0.1:0"}}
		if err := lab.BindIn(nil, p); err != nil {
			return err
		}
		socks = append(socks, p...)
	}
	dPlain := time.Since(t0)
	for _, sk := range socks {
		sk.Close()
	}
	socks = socks[:0]
	t1 := time.Now()
	for i := range k {
		p := pair()
		if err := lab.BindIn(nss[i], p); err != nil {
			return err
		}
		socks = append(socks, p...)
	}
	dDo := time.Since(t1)
	for _, sk := range socks {
		sk.Close()
	}
	warm, err := each()
	if err != nil {
		return err
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(2*k) }
	r.BindColdMs, r.BindWarmMs = ms(cold), ms(warm)
	r.BindPlainUs, r.BindDoUs, r.BindEachUs = per(dPlain), per(dDo), per(warm)
	r.BindOverheadUs = r.BindEachUs - r.BindPlainUs
	return nil
}

// benchTraffic measures, inside one namespace, a direct connection, the
// proxy (a shared worker process) and socat -b 131072, side by side.
func benchTraffic(s *lab.Session, nsName string, bytes int64, r *proxyBench) error {
	ns, err := s.NetnsOf(nsName)
	if err != nil {
		return err
	}
	defer ns.Close()
	// The sink/echo server every path goes to runs in a process of its own
	// (a client and its server never share one): 127.0.0.1:9002 in the
	// namespace. A second one inside this process, at 127.0.0.1:9000, gives
	// the fastest direct figure possible, for reference.
	socks := []lab.Socket{{Network: "tcp", Addr: "127.0.0.1:9000"}}
	if err := lab.BindIn(ns, socks); err != nil {
		return err
	}
	defer socks[0].Close()
	go serveSinkEcho(socks[0].Listener)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	srv := lab.Reexec("bench-server", nsName, filepath.Join(lab.NetnsDir, lab.SysName(nsName)), "127.0.0.1:9002")
	srv.Path = self
	srv.Stdout, srv.Stderr = os.Stderr, os.Stderr
	if _, err := s.StartProcess("bench-server", srv); err != nil {
		return err
	}
	defer s.Stop("bench-server", 2*time.Second)
	waitListening(ns, "127.0.0.1:9002")
	name := "bench-traffic"
	c, _, err := proxy.StartWorker(s, name, proxy.Config{Routes: []proxy.Route{mustRoute(nsName + "/tcp/127.0.0.1:8081=" + nsName + "/tcp/127.0.0.1:9002")}, Rescan: -1})
	if err != nil {
		return err
	}
	defer s.Stop(name, 5*time.Second)
	defer c.Close()
	socat := exec.Command("ip", "netns", "exec", lab.SysName(nsName), "socat", "-b", "131072", "TCP-LISTEN:8082,bind=127.0.0.1,fork,reuseaddr", "TCP:127.0.0.1:9002")
	haveSocat := false
	if _, err := exec.LookPath("socat"); err == nil {
		if _, err := s.StartProcess("bench-socat", socat); err == nil {
			haveSocat = true
			defer s.Stop("bench-socat", 2*time.Second)
			waitListening(ns, "127.0.0.1:8082")
		}
	}
	type target struct {
		addr string
		out  *float64
		echo *float64
	}
	targets := []target{
		{"127.0.0.1:9002", &r.Direct, &r.EchoDirectUs},
		{"127.0.0.1:8081", &r.Proxied, &r.EchoProxyUs},
		{"127.0.0.1:9000", &r.DirectSameProc, &r.EchoDirectSameProc},
	}
	if haveSocat {
		targets = append(targets, target{"127.0.0.1:8082", &r.Socat, &r.EchoSocatUs})
	}
	// Three rounds, the paths interleaved, and the median of each: on a
	// shared machine one run of a path can land in a burst of other work.
	const rounds = 3
	gibs := make([][]float64, len(targets))
	echo := make([][]float64, len(targets))
	for range rounds {
		for i, tg := range targets {
			g, err := pushBytes(ns, tg.addr, bytes)
			if err != nil {
				return fmt.Errorf("throughput via %s: %w", tg.addr, err)
			}
			gibs[i] = append(gibs[i], g)
			p50, err := echoP50(ns, tg.addr, 500)
			if err != nil {
				return fmt.Errorf("echo via %s: %w", tg.addr, err)
			}
			echo[i] = append(echo[i], p50)
		}
	}
	for i, tg := range targets {
		*tg.out, *tg.echo = median(gibs[i]), median(echo[i])
	}
	r.Rounds = rounds
	return nil
}

// serveSinkEcho serves the traffic benchmark: a connection that starts
// with 'e' gets that byte back and is closed; any other is read to the
// end.
func serveSinkEcho(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			b := make([]byte, 1)
			if _, err := c.Read(b); err != nil {
				return
			}
			if b[0] == 'e' {
				c.Write(b)
				return
			}
			// Read in big blocks: io.Discard reads 8 KiB at a time and
			// would cap every path at its syscall rate.
			big := make([]byte, 1<<20)
			for {
				if _, err := c.Read(big); err != nil {
					return
				}
			}
		}()
	}
}

func init() { lab.RegisterInit("bench-server", benchServerMain) }

// benchServerMain is the traffic benchmark's server in a process of its
// own: os.Args[1] is the namespace file, os.Args[2] the address.
func benchServerMain() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "bench server: want NETNS-PATH ADDR")
		os.Exit(2)
	}
	ns, err := lab.OpenNetnsPath(filepath.Base(os.Args[1]), os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench server:", err)
		os.Exit(1)
	}
	socks := []lab.Socket{{Network: "tcp", Addr: os.Args[2]}}
	if err := lab.BindIn(ns, socks); err != nil {
		fmt.Fprintln(os.Stderr, "bench server:", err)
		os.Exit(1)
	}
	serveSinkEcho(socks[0].Listener)
}

func median(v []float64) float64 {
	v = append([]float64(nil), v...)
	sort.Float64s(v)
	return v[len(v)/2]
}

func waitListening(ns *lab.Netns, addr string) {
	for range 100 {
		if c, err := lab.DialIn(ns, "tcp", addr, time.Second); err == nil {
			c.Write([]byte("x"))
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pushBytes sends n bytes to addr from inside ns and waits for the close.
func pushBytes(ns *lab.Netns, addr string, n int64) (float64, error) {
	c, err := lab.DialIn(ns, "tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	buf := make([]byte, 256<<10)
	buf[0] = 's'
	t0 := time.Now()
	var sent int64
	for sent < n {
		m, err := c.Write(buf[:min(int64(len(buf)), n-sent)])
		if err != nil {
			return 0, err
		}
		sent += int64(m)
	}
	c.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, c) // wait until the far side has it all and closes
	return float64(n) / (1 << 30) / time.Since(t0).Seconds(), nil
}

// echoP50 is the median time to connect, send one byte and read it back.
func echoP50(ns *lab.Netns, addr string, rounds int) (float64, error) {
	var ds []time.Duration
	b := []byte{'e'}
	var c net.Conn
	var err error
	// Dial from a socket made in ns once per round; the switch is not
	// part of what is measured, so make it first.
	for range rounds {
		d := lab.Dialer{Netns: ns, Timeout: 5 * time.Second}
		t0 := time.Now()
		c, err = d.Dial("tcp", addr)
		if err != nil {
			return 0, err
		}
		c.Write(b)
		if _, err = io.ReadFull(c, b); err != nil {
			c.Close()
			return 0, err
		}
		ds = append(ds, time.Since(t0))
		c.Close()
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return float64(ds[len(ds)/2].Nanoseconds()) / 1000, nil
}
