package bench

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// benchSocatPerNs starts what a user would reach for instead: one socat
// per namespace, forking per connection.
func benchSocatPerNs(s *lab.Session, names []string) (StrategyRow, error) {
	sb := StrategyRow{Name: "socat per namespace", Namespaces: len(names)}
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
func benchBindCost(s *lab.Session, names []string, r *Report) error {
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
func benchTraffic(s *lab.Session, nsName string, bytes int64, r *Report) error {
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
	go ServeSinkEcho(socks[0].Listener)
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

// ServeSinkEcho serves the traffic benchmark until l is closed: a
// connection that starts with 'e' gets that byte back and is closed; any
// other is read to the end. lab/proxy's Go benchmarks serve with it too,
// so their figures and `nslab bench proxy`'s measure the same backend.
func ServeSinkEcho(l net.Listener) { serve(l, sinkEcho) }

func sinkEcho(c net.Conn) {
	defer c.Close()
	b := make([]byte, 1)
	if _, err := c.Read(b); err != nil {
		return
	}
	if b[0] == 'e' {
		c.Write(b)
		return
	}
	drain(c)
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
	ServeSinkEcho(socks[0].Listener)
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
