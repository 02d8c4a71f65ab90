package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lab"
)

// PeerOptions size a Peers run.
type PeerOptions struct {
	Tenants  []int         // tenant counts to compare at (10, 100, 1000)
	Rounds   int           // alternated rounds; figures are their medians
	Duration time.Duration // each rate measurement
	Bytes    int64         // each throughput run, over all its streams
	Only     []string      // peers to run (nil: every one there is)
	Clients  int           // concurrent clients for the rates (default 32)
	Rate     int           // new connections a second for the CPU figure (default 1000)
}

// PeerFigures is what one peer did at one tenant count (one round, or the
// medians of the rounds).
type PeerFigures struct {
	Peer        string  `json:"peer"`
	Threads     int     `json:"idle_threads"`
	RSSMiB      float64 `json:"idle_rss_mib"`
	PSSMiB      float64 `json:"idle_pss_mib"`
	StartMs     float64 `json:"start_ms"` // from exec until every tenant's listener accepts
	Gbps1       float64 `json:"gbit_s_1_stream"`
	Gbps8       float64 `json:"gbit_s_8_streams"`
	NewRate     float64 `json:"new_conn_per_s"`
	NewP50      float64 `json:"new_conn_p50_us"`
	NewP99      float64 `json:"new_conn_p99_us"`
	KARate      float64 `json:"keepalive_req_per_s"`
	KAP50       float64 `json:"keepalive_p50_us"`
	KAP99       float64 `json:"keepalive_p99_us"`
	FixedRate   float64 `json:"fixed_rate_done_per_s"`
	CPUPerConn  float64 `json:"cpu_us_per_conn"` // at the fixed rate: the peer's CPU over the connections made
	FixedP50    float64 `json:"fixed_rate_p50_us"`
	FixedP99    float64 `json:"fixed_rate_p99_us"`
	CPUPerKAReq float64 `json:"cpu_us_per_keepalive_req"`
	Failed      int     `json:"failed"`
}

// PeerSet is one tenant count: the medians per peer, and every round.
type PeerSet struct {
	Tenants int                      `json:"tenants"`
	Peers   []PeerFigures            `json:"medians"`
	Rounds  map[string][]PeerFigures `json:"rounds"`
}

// PeerReport is what Peers measured, and how.
type PeerReport struct {
	Schema   int               `json:"schema"` // set by whoever writes it out
	Date     string            `json:"date"`
	Machine  string            `json:"machine"`
	Versions map[string]string `json:"versions"`
	Options  PeerOptions       `json:"options"`
	Missing  []string          `json:"missing,omitempty"` // peers not measured, and why
	Sets     []PeerSet         `json:"sets"`
}

// peer is one program that forwards each tenant's 127.0.0.1:8080 to the
// tenant's 127.0.0.1:8000.
type peer struct {
	name     string
	port     uint16
	start    func(env *peerEnv, n int) (pids []int, stop func(), err error) // nil: nothing to start (direct)
	notifies bool                                                           // says READY=1 on $NOTIFY_SOCKET
}

// peerEnv is what every peer of a run shares.
type peerEnv struct {
	s       *lab.Session
	names   []string // tenant names (lab names)
	nss     []*lab.Netns
	dir     string // config files and logs
	seq     int
	lastLog string // the last peer's log file
	notify  string // $NOTIFY_SOCKET for the peer being started ("": none)

	createMs float64 // making the namespaces
}

const (
	listenPort  = 8080
	backendPort = 8000
)

// Peers measures nslab proxy, HAProxy and socat side by side at each
// tenant count, in alternated rounds, against one backend process that
// listens at the same address in every tenant. Progress goes to log.
func Peers(ctx context.Context, s *lab.Session, o PeerOptions, log io.Writer) (PeerReport, error) {
	if o.Clients == 0 {
		o.Clients = 32
	}
	if o.Rate == 0 {
		o.Rate = 1000
	}
	if o.Bytes == 0 {
		o.Bytes = 256 << 20
	}
	r := PeerReport{Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Options: o, Versions: versions(),
		Machine: machine()}
	peers, missing := availablePeers(o.Only)
	r.Missing = missing
	for _, m := range missing {
		fmt.Fprintf(log, "bench peers: %s\n", m)
	}
	env, cleanup, err := newPeerEnv(ctx, s, slices.Max(o.Tenants), log)
	if err != nil {
		return r, err
	}
	defer cleanup()
	for _, n := range o.Tenants {
		set := PeerSet{Tenants: n, Rounds: map[string][]PeerFigures{}}
		for round := range o.Rounds {
			order := slices.Clone(peers)
			k := round % len(order)
			order = append(order[k:], order[:k]...) // alternate who goes first
			for _, p := range order {
				if ctx.Err() != nil {
					return r, ctx.Err()
				}
				fmt.Fprintf(log, "bench peers: %d tenants, round %d: %s...\n", n, round+1, p.name)
				f, err := measurePeer(env, p, n, o)
				if err != nil {
					return r, fmt.Errorf("%s at %d tenants: %w", p.name, n, err)
				}
				set.Rounds[p.name] = append(set.Rounds[p.name], f)
			}
		}
		for _, p := range peers {
			set.Peers = append(set.Peers, medians(p.name, set.Rounds[p.name]))
		}
		r.Sets = append(r.Sets, set)
	}
	return r, nil
}

// newPeerEnv makes most tenant namespaces, each with lo up, and the
// backend listening in every one. cleanup closes the handles and removes
// the run's directory at once (it holds a copy of the binary); the
// session's journal has it too, for a run that is killed first.
func newPeerEnv(ctx context.Context, s *lab.Session, most int, log io.Writer) (*peerEnv, func(), error) {
	dir, err := s.TempDir("bench-peers-")
	if err != nil {
		return nil, nil, err
	}
	env := &peerEnv{s: s, dir: dir}
	cleanup := func() {
		for _, ns := range env.nss {
			ns.Close()
		}
		os.RemoveAll(dir) // its files: configs, sockets, logs
	}
	fmt.Fprintf(log, "bench: %d tenant namespaces, each with lo up...\n", most)
	if _, err := lab.ReserveFDs(most + 4096); err != nil { // a handle each, and the clients
		cleanup()
		return nil, nil, err
	}
	t0 := time.Now()
	for i := range most {
		name := fmt.Sprintf("pp%d", i)
		ns, err := s.AddNetns(name)
		if err == nil {
			env.names = append(env.names, name)
			env.nss = append(env.nss, ns)
			err = loUp(ns)
		}
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	env.createMs = ms(time.Since(t0))
	if _, err := env.binary(); err != nil { // not in any peer's start time
		cleanup()
		return nil, nil, err
	}
	if err := startBackend(env); err != nil {
		cleanup()
		return nil, nil, err
	}
	return env, cleanup, nil
}

// loUp brings the loopback of ns up, as `ip link set lo up` does, with
// an ioctl on a socket made there: the session's own way keeps a netlink
// socket per namespace, and at 10 000 namespaces those and the handles
// were more descriptors than this machine allows a process.
func loUp(ns *lab.Netns) error {
	return lab.Do(ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		ifr, err := unix.NewIfreq("lo")
		if err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
			return fmt.Errorf("lo in %s: %w", ns, err)
		}
		ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
		if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
			return fmt.Errorf("set lo up in %s: %w", ns, err)
		}
		return nil
	})
}

// measurePeer starts a peer over the first n tenants, measures it, and
// stops it.
func measurePeer(env *peerEnv, p peer, n int, o PeerOptions) (PeerFigures, error) {
	f := PeerFigures{Peer: p.name}
	nss := env.nss[:n]
	ap := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), p.port)
	var pids []int
	if p.start != nil {
		var err error
		var stop func()
		if pids, stop, f.StartMs, err = startTimed(env, p, n, ap); err != nil {
			return f, err
		}
		defer stop()
		time.Sleep(500 * time.Millisecond)       // settled, as an operator would look at it
		pids = append(pids, childrenOf(pids)...) // HAProxy's worker under its master
		idle := readProcs(pids)
		f.Threads, f.RSSMiB, f.PSSMiB = idle.Threads, float64(idle.RSS)/(1<<20), float64(idle.PSS)/(1<<20)
	}
	var err error
	if f.Gbps1, err = throughput(nss, ap, 1, o.Bytes); err != nil {
		return f, err
	}
	if f.Gbps8, err = throughput(nss, ap, 8, o.Bytes); err != nil {
		return f, err
	}
	nc := newConnRate(nss, ap, o.Clients, o.Duration)
	f.NewRate = nc.rate()
	f.NewP50, f.NewP99 = nc.percentiles()
	cpu0 := peerCPU(pids)
	ka := keepAliveRate(nss, ap, o.Clients, o.Duration)
	if cpu := peerCPU(pids) - cpu0; ka.Done > 0 && pids != nil {
		f.CPUPerKAReq = float64(cpu.Microseconds()) / float64(ka.Done)
	}
	f.KARate = ka.rate()
	f.KAP50, f.KAP99 = ka.percentiles()
	time.Sleep(200 * time.Millisecond) // connections closed, children reaped
	cpu0 = peerCPU(pids)
	fr := fixedRate(nss, ap, o.Rate, o.Duration)
	time.Sleep(200 * time.Millisecond)
	if cpu := peerCPU(pids) - cpu0; fr.Done > 0 && pids != nil {
		f.CPUPerConn = float64(cpu.Microseconds()) / float64(fr.Done)
	}
	f.FixedRate = fr.rate()
	f.FixedP50, f.FixedP99 = fr.percentiles()
	f.Failed = nc.Failed + ka.Failed + fr.Failed
	return f, nil
}

// startTimed starts a peer as its service manager would and times it:
// from exec to READY=1 on $NOTIFY_SOCKET for those that tell systemd
// (nslab proxy, HAProxy with -Ws, both Type=notify), else until every
// tenant's listener accepts a connection (socat). Then it checks that
// every tenant's listener accepts.
func startTimed(env *peerEnv, p peer, n int, ap netip.AddrPort) ([]int, func(), float64, error) {
	env.notify = ""
	var nl *net.UnixConn
	if p.notifies {
		env.notify = filepath.Join(env.dir, "notify-"+p.name)
		os.Remove(env.notify)
		var err error
		if nl, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: env.notify, Net: "unixgram"}); err != nil {
			return nil, nil, 0, err
		}
		defer nl.Close()
	}
	t0 := time.Now()
	pids, stop, err := p.start(env, n)
	if err != nil {
		return nil, nil, 0, err
	}
	var took time.Duration
	if nl != nil {
		buf := make([]byte, 4096)
		limit := t0.Add(5 * time.Minute)
		for {
			// Awake every 200 ms to see whether the peer is still there:
			// one that exited (a bad config) will never say READY=1.
			next := time.Now().Add(200 * time.Millisecond)
			if next.After(limit) {
				next = limit
			}
			nl.SetReadDeadline(next)
			m, err := nl.Read(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) && time.Now().Before(limit) {
				if !running(pids[0]) {
					stop()
					return nil, nil, 0, fmt.Errorf("%s exited before it was ready: %s", p.name, env.lastLogTail())
				}
				continue
			}
			if err != nil {
				stop()
				return nil, nil, 0, fmt.Errorf("%s said nothing on $NOTIFY_SOCKET: %w", p.name, err)
			}
			if strings.Contains("\n"+string(buf[:m])+"\n", "\nREADY=1\n") {
				took = time.Since(t0)
				break
			}
		}
	}
	if err := waitAllListening(env.nss[:n], ap, 5*time.Minute); err != nil {
		stop()
		return nil, nil, 0, err
	}
	if nl == nil {
		took = time.Since(t0)
	}
	return pids, stop, ms(took), nil
}

// peerCPU is the CPU a peer's processes used so far, with the children
// they have reaped and those still running (socat forks one per
// connection).
func peerCPU(pids []int) time.Duration {
	if pids == nil {
		return 0
	}
	var more []int
	for _, c := range childrenOf(pids) {
		if !slices.Contains(pids, c) { // HAProxy's worker is in pids already
			more = append(more, c)
		}
	}
	return readProcs(pids).CPU + readProcs(more).CPU
}

// waitAllListening waits until every tenant's address accepts a
// connection: 16 pollers, each taking its share of the tenants in turn.
// (A look at each tenant's /proc/net/tcp instead makes no connection, but
// the kernel walks every socket of every namespace for each: 7 s for 1000
// tenants.)
func waitAllListening(nss []*lab.Netns, ap netip.AddrPort, limit time.Duration) error {
	end := time.Now().Add(limit)
	parts := min(16, len(nss))
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for k := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k; i < len(nss); i += parts {
				for {
					f, err := clientConn(nss[i], ap)
					if err == nil {
						f.Close()
						break
					}
					if time.Now().After(end) {
						errs[k] = fmt.Errorf("tenant %d of %d is not listening at %s after %s: %w", i+1, len(nss), ap, limit, err)
						return
					}
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// startBackend starts the backend process, listening at 127.0.0.1:8000 in
// every tenant.
func startBackend(env *peerEnv) error {
	cmd := lab.Reexec("bench-backend", "peers", fmt.Sprintf("127.0.0.1:%d", backendPort))
	var paths strings.Builder
	for _, ns := range env.nss {
		paths.WriteString(ns.Path() + "\n")
	}
	cmd.Stdin = strings.NewReader(paths.String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if _, err := env.s.StartProcess("bench-backend", cmd); err != nil {
		return err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		return fmt.Errorf("bench backend: %q %v", strings.TrimSpace(line), err)
	}
	return nil
}

// availablePeers lists the peers to measure (nslab and direct always;
// haproxy and socat if installed), and why any asked for is left out.
func availablePeers(only []string) ([]peer, []string) {
	all := []peer{
		{name: "nslab", port: listenPort, start: startNslab, notifies: true},
		{name: "haproxy", port: listenPort, start: startHAProxy, notifies: true},
		{name: "socat", port: listenPort, start: startSocat},
		{name: "direct", port: backendPort},
	}
	var out []peer
	var missing []string
	for _, p := range all {
		if only != nil && !slices.Contains(only, p.name) {
			continue
		}
		if p.name == "haproxy" || p.name == "socat" {
			if _, err := exec.LookPath(p.name); err != nil {
				missing = append(missing, fmt.Sprintf("%s is not installed: left out (apt-get install %s; .ci/run installs it with NSLAB_PEERS=1)", p.name, p.name))
				continue
			}
		}
		out = append(out, p)
	}
	return out, missing
}

func medians(name string, rounds []PeerFigures) PeerFigures {
	m := PeerFigures{Peer: name}
	pick := func(get func(PeerFigures) float64) float64 {
		v := make([]float64, len(rounds))
		for i, r := range rounds {
			v[i] = get(r)
		}
		return median(v)
	}
	m.Threads = int(pick(func(f PeerFigures) float64 { return float64(f.Threads) }))
	m.RSSMiB = pick(func(f PeerFigures) float64 { return f.RSSMiB })
	m.PSSMiB = pick(func(f PeerFigures) float64 { return f.PSSMiB })
	m.StartMs = pick(func(f PeerFigures) float64 { return f.StartMs })
	m.Gbps1 = pick(func(f PeerFigures) float64 { return f.Gbps1 })
	m.Gbps8 = pick(func(f PeerFigures) float64 { return f.Gbps8 })
	m.NewRate = pick(func(f PeerFigures) float64 { return f.NewRate })
	m.NewP50 = pick(func(f PeerFigures) float64 { return f.NewP50 })
	m.NewP99 = pick(func(f PeerFigures) float64 { return f.NewP99 })
	m.KARate = pick(func(f PeerFigures) float64 { return f.KARate })
	m.KAP50 = pick(func(f PeerFigures) float64 { return f.KAP50 })
	m.KAP99 = pick(func(f PeerFigures) float64 { return f.KAP99 })
	m.FixedRate = pick(func(f PeerFigures) float64 { return f.FixedRate })
	m.CPUPerConn = pick(func(f PeerFigures) float64 { return f.CPUPerConn })
	m.FixedP50 = pick(func(f PeerFigures) float64 { return f.FixedP50 })
	m.FixedP99 = pick(func(f PeerFigures) float64 { return f.FixedP99 })
	m.CPUPerKAReq = pick(func(f PeerFigures) float64 { return f.CPUPerKAReq })
	for _, r := range rounds {
		m.Failed += r.Failed
	}
	return m
}

func versions() map[string]string {
	v := map[string]string{"go": runtime.Version()}
	for _, c := range [][]string{{"haproxy", "-v"}, {"socat", "-V"}} {
		out, err := exec.Command(c[0], c[1:]...).CombinedOutput()
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(strings.ToLower(line), "version") {
				v[c[0]] = strings.TrimSpace(line)
				break
			}
		}
	}
	return v
}

func machine() string {
	rel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		rel = strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d CPUs, Linux %s", runtime.NumCPU(), rel)
}

// logFile is a peer's log in the run's directory.
func (env *peerEnv) logFile(name string) (*os.File, error) {
	env.seq++
	env.lastLog = filepath.Join(env.dir, fmt.Sprintf("%s-%d.log", name, env.seq))
	return os.Create(env.lastLog)
}

// lastLogTail is the end of the last peer's log, for an error.
func (env *peerEnv) lastLogTail() string {
	b, err := os.ReadFile(env.lastLog)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return "its log says nothing"
	}
	b = bytes.TrimSpace(b)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// running says whether process pid is there and not a zombie.
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] != 'Z'
}
