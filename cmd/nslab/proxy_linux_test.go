package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

func TestProxyWithABadConfigNamesTheLineAndStartsNothing(t *testing.T) {
	labtest.RequireRoot(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "edge.yaml")
	ctl := filepath.Join(dir, "edge.sock")
	os.WriteFile(cfg, []byte("control: "+ctl+"\nroutes:\n  - listen: host/tcp/127.0.0.1:0\n    target: host/udp/127.0.0.1:9\n"), 0o644)
	_, stderr, code := nslab(t, "proxy", "--config", cfg)
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if want := cfg + ":4:13: routes[0].target: udp cannot carry tcp"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q\nwant it to contain %q", stderr, want)
	}
	if _, err := os.Stat(ctl); err == nil {
		t.Errorf("the control socket was created for a config that failed")
	}
}

// nslab proxy as systemd runs it (Type=notify, ExecReload=kill -HUP):
// READY=1 on $NOTIFY_SOCKET once every tenant listens; SIGHUP reads the
// config again (RELOADING=1, then READY=1), binds the new tenant and drops
// no open connection; SIGTERM says STOPPING=1 and exits 0, its socket gone.
func TestProxyNotifiesSystemdAndReloadsOnSIGHUP(t *testing.T) {
	s := labtest.New(t)
	dir := t.TempDir()
	var names []string
	nss := map[string]*lab.Netns{}
	for i := range 2 {
		name := labtest.Name(fmt.Sprintf("sd%d", i))
		ns := labtest.Netns(t, s, name, true)
		l := labtest.Listen(t, ns, "tcp", "127.0.0.1:9000")
		go labtest.Serve(l, func(c net.Conn) { // greet, then echo
			c.Write([]byte(name + "\n"))
			io.Copy(c, c)
		})
		names = append(names, name)
		nss[name] = ns
	}
	sock := filepath.Join(dir, "notify")
	nl, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	next := func(want string) string {
		t.Helper()
		buf := make([]byte, 4096)
		nl.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, err := nl.Read(buf)
		if err != nil || !strings.Contains(string(buf[:n]), want) {
			t.Fatalf("sd_notify: got %q (%v), want %s", buf[:n], err, want)
		}
		return string(buf[:n])
	}
	cfg := filepath.Join(dir, "proxy.yaml")
	ctl := filepath.Join(dir, "proxy.sock")
	write := func(tenants ...string) { writeTenantsConfig(t, cfg, ctl, "1h", tenants) }
	write(names[0])
	cmd := startProxy(t, nslabBin(t), []string{"NOTIFY_SOCKET=" + sock}, "--config", cfg, "--log-level", "warn")
	if got := next("READY=1"); !strings.Contains(got, "STATUS=serving 1 tenants") || !strings.Contains(got, fmt.Sprintf("MAINPID=%d", cmd.Process.Pid)) {
		t.Errorf("ready message %q", got)
	}
	greet := func(name string) (net.Conn, string) {
		c, err := lab.DialIn(nss[name], "tcp", "127.0.0.1:8080", 5*time.Second)
		if err != nil {
			return nil, err.Error()
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			c.Close()
			return nil, err.Error()
		}
		return c, strings.TrimSpace(line)
	}
	held, got := greet(names[0])
	if got != names[0] {
		t.Fatalf("at READY=1, %s answered %q", names[0], got)
	}
	defer held.Close()
	if _, got := greet(names[1]); got == names[1] {
		t.Fatalf("%s served before it was in the config", names[1])
	}

	write(names...)
	cmd.Process.Signal(syscall.SIGHUP)
	next("RELOADING=1")
	if got := next("READY=1"); !strings.Contains(got, "serving 2 tenants") {
		t.Errorf("after the reload: %q", got)
	}
	if c, got := greet(names[1]); got != names[1] {
		t.Errorf("after SIGHUP, the new tenant %s answered %q", names[1], got)
	} else {
		c.Close()
	}
	held.Write([]byte("x"))
	b := make([]byte, 1)
	if _, err := io.ReadFull(held, b); err != nil || b[0] != 'x' {
		t.Errorf("the connection open through the reload: %q, %v", b, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	next("STOPPING=1")
	if err := cmd.Wait(); err != nil {
		t.Errorf("nslab proxy after SIGTERM: %v", err)
	}
	if _, err := os.Stat(ctl); err == nil {
		t.Error("the control socket is left after the proxy stopped")
	}
}

// nslab proxy with many tenants, idle, keeps its threads within
// GOMAXPROCS + 4 (read from /proc/PID/status, as an operator would), even
// with its timer ticking every 20 ms: it does not look at every tenant's
// namespace on a timer (inotify tells it when one moves).
func TestProxyWithManyIdleTenantsKeepsItsThreads(t *testing.T) {
	const n = 300
	s := labtest.New(t)
	dir := t.TempDir()
	base := labtest.Name("idle")
	var names []string
	for i := range n {
		name := fmt.Sprintf("%s-%d", base, i)
		labtest.Netns(t, s, name, true)
		names = append(names, name)
	}
	cfg := filepath.Join(dir, "proxy.yaml")
	ctl := filepath.Join(dir, "proxy.sock")
	writeTenantsConfig(t, cfg, ctl, "20ms", names)
	cmd := startProxy(t, nslabBin(t), nil, "--config", cfg, "--log-level", "warn")
	// Serving: every tenant listed on the control socket.
	proxyServing(t, ctl, func(c *proxy.Client) bool {
		ts, err := c.Tenants()
		return err == nil && len(ts) == n
	})
	// Settled: start-up's threads given back, and the daemon done
	// reading its count after the trim (3 looks, a second apart).
	time.Sleep(5 * time.Second)
	// Idle, nothing is done per tenant on a timer, so the count never
	// rises: a rescan that woke threads made it swing (6 to 8 here). It
	// may still fall, as the daemon's trim gives threads back. The level
	// is GOMAXPROCS+4 once trimmed, and sometimes one more, a thread made
	// in a start-up burst after the trim (docs/benchmarks.md, the 10 000-
	// tenant section): that one is allowed, a rising count is not.
	limit := runtime.GOMAXPROCS(0) + 5
	var seen []int
	rose := false
	for range 60 { // about 150 ticks of its timer
		st, err := proxy.ReadProcStats(cmd.Process.Pid, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) > 0 && st.Threads > seen[len(seen)-1] {
			rose = true
		}
		seen = append(seen, st.Threads)
		time.Sleep(50 * time.Millisecond)
	}
	if rose || slices.Max(seen) > limit {
		t.Errorf("idle with %d tenants the proxy's threads read %v; want a count that never rises, at most GOMAXPROCS+5 = %d", n, seen, limit)
	}
}

// writeTenantsConfig writes a proxy config with one route, web, from
// 127.0.0.1:8080 to :9000 in each of tenants, and the given rescan period.
func writeTenantsConfig(t *testing.T, cfg, ctl, rescan string, tenants []string) {
	t.Helper()
	y := "control: " + ctl + "\nrescan: " + rescan + "\ntenants: [" + strings.Join(tenants, ", ") + "]\nroutes:\n" +
		"  - name: web\n    listen: \"{tenant}/tcp/127.0.0.1:8080\"\n    target: \"{tenant}/tcp/127.0.0.1:9000\"\n"
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
}

// nslab proxy runs Go on one CPU while one is enough (--scale-procs, on
// by default): under a client every 20 ms its stats and /metrics read
// GOMAXPROCS 1, and it serves on it; quiet, every CPU again (where the
// thread trim reaches its floor). --scale-procs=false, scale_procs: false
// in the file (unless the flag says otherwise), or GOMAXPROCS in the
// environment keeps what the runtime or the operator chose.
func TestProxyRunsOnOnePWhileOneIsEnough(t *testing.T) {
	all := runtime.GOMAXPROCS(0)
	if all < 2 {
		t.Skip("one CPU: nothing to scale")
	}
	s := labtest.New(t)
	name := labtest.Name("procs")
	ns := labtest.Netns(t, s, name, true)
	go labtest.Serve(labtest.Listen(t, ns, "tcp", "127.0.0.1:9000"), func(c net.Conn) { io.Copy(c, c) })
	echo := func() error {
		conn, err := lab.DialIn(ns, "tcp", "127.0.0.1:8080", 5*time.Second)
		if err != nil {
			return err
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		conn.Write([]byte("hello\n"))
		if line, err := bufio.NewReader(conn).ReadString('\n'); line != "hello\n" {
			return fmt.Errorf("the echo through the proxy read %q, %v", line, err)
		}
		return nil
	}
	for _, c := range []struct {
		how         string
		env, args   []string
		file        string // more of the config file
		busy, quiet int
	}{
		{"by default", nil, nil, "", 1, all},
		{"with --scale-procs=false", nil, []string{"--scale-procs=false"}, "", all, all},
		{"with scale_procs: false in the file", nil, nil, "scale_procs: false\n", all, all},
		{"with scale_procs: false in the file and --scale-procs", nil, []string{"--scale-procs"}, "scale_procs: false\n", 1, all},
		{"with GOMAXPROCS=2 in the environment", []string{"GOMAXPROCS=2"}, nil, "", 2, 2},
	} {
		dir := t.TempDir()
		cfg, ctl := filepath.Join(dir, "proxy.yaml"), filepath.Join(dir, "proxy.sock")
		writeTenantsConfig(t, cfg, ctl, "1h", []string{name})
		if c.file != "" {
			f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(c.file)
			f.Close()
		}
		cmd := startProxy(t, nslabBin(t), c.env, append([]string{"--config", cfg, "--log-level", "warn"}, c.args...)...)
		cl := proxyServing(t, ctl, func(c *proxy.Client) bool {
			ts, err := c.Tenants()
			return err == nil && len(ts) == 1
		})
		// held reads the proxy's Ps every 100 ms (calling each first)
		// until they read want 10 times in a row, or 10 s have gone.
		held := func(each func(), want int) int {
			var procs int
			for n, deadline := 0, time.Now().Add(10*time.Second); n < 10 && time.Now().Before(deadline); {
				each()
				st, err := cl.Stats()
				if err != nil {
					t.Fatal(err)
				}
				if procs = st.GoMaxProcs; procs == want {
					n++
				} else {
					n = 0
				}
			}
			return procs
		}
		// Busy: an echo every 20 ms.
		var failed error
		busy := held(func() {
			for range 5 {
				if err := echo(); err != nil && failed == nil {
					failed = err
				}
				time.Sleep(20 * time.Millisecond)
			}
		}, c.busy)
		if failed != nil {
			t.Errorf("%s: %v", c.how, failed)
		}
		// Quiet 100 ms after the last echo; the trim after it sets one P
		// for a moment, hence the reads in a row.
		time.Sleep(time.Second)
		quiet := held(func() { time.Sleep(100 * time.Millisecond) }, c.quiet)
		m, err := cl.Metrics()
		if err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("go_sched_gomaxprocs_threads %d\n", c.quiet)
		if busy != c.busy || quiet != c.quiet || !strings.Contains(m, line) {
			t.Errorf("%s: GOMAXPROCS %d under a client every 20 ms, want %d; %d quiet, want %d; /metrics has %q: %v",
				c.how, busy, c.busy, quiet, c.quiet, line, strings.Contains(m, line))
		}
		// What an operator reads.
		want := fmt.Sprintf("(GOMAXPROCS %d)", c.quiet)
		if out, errOut, code := nslab(t, "proxy", "stats", "--control", ctl); code != 0 || !strings.Contains(out, want) {
			t.Errorf("%s: nslab proxy stats (exit %d) lacks %q:\n%s%s", c.how, code, want, out, errOut)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
}

// `nslab proxy` with a process per namespace, killed with SIGKILL (as a
// lesson's shell export ends it), leaves nothing in $TMPDIR: its
// children's control sockets are beside its own, in a directory the
// caller removes with its own files.
func TestAKilledProcessPerNamespaceProxyLeavesNothingInTMPDIR(t *testing.T) {
	s := labtest.New(t)
	bin := nslabBin(t)
	var tenants []string
	for range 2 {
		tenants = append(tenants, labtest.Netns(t, s, labtest.Name("kp"), false).Name())
	}
	// Short names (a socket's name has 108 bytes): the proxy's directory,
	// and its $TMPDIR.
	run, tmp := shortTempDir(t), shortTempDir(t)
	ctl := filepath.Join(run, "ppn.sock")
	args := []string{"--strategy", "process-per-namespace", "--control", ctl,
		"--route", "{tenant}/tcp/127.0.0.1:80=host/tcp/127.0.0.1:9"}
	for _, n := range tenants {
		args = append(args, "--tenant", n)
	}
	cmd := startProxy(t, bin, []string{"TMPDIR=" + tmp}, args...)
	if st, err := proxyServing(t, ctl, nil).Stats(); err != nil || len(st.Procs) != 3 {
		t.Fatalf("proxy stats: %d processes (%v), want the parent and 2 children", len(st.Procs), err)
	}
	// What an operator reads: the threads are the tree's, GOMAXPROCS the parent's.
	if out, errOut, code := nslab(t, "proxy", "stats", "--control", ctl); code != 0 ||
		!strings.Contains(out, "in the parent)") || !strings.Contains(out, "processes: 3 ") {
		t.Errorf("nslab proxy stats (exit %d) of a process-per-namespace proxy:\n%s%s", code, out, errOut)
	}
	cmd.Process.Kill()
	cmd.Wait()
	// The children end once the parent is gone (their stdin closes).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out, _ := exec.Command("pgrep", "-f", "nslab-proxy-wor").Output()
		mine := 0
		for _, pid := range strings.Fields(string(out)) {
			if b, _ := os.ReadFile("/proc/" + pid + "/environ"); strings.Contains(string(b), "TMPDIR="+tmp) {
				mine++
			}
		}
		if mine == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d children of the killed proxy still run", mine)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("the killed proxy left %d entries in $TMPDIR (%s), e.g. %s", len(left), tmp, left[0].Name())
	}
	kids, _ := filepath.Glob(filepath.Join(run, ".nslab-children-*"))
	if len(kids) != 1 {
		t.Errorf("%d directories of children's sockets beside the control socket (%v), want 1", len(kids), kids)
	}
}

// shortTempDir is a directory removed at the end of the test, with a
// name short enough to hold sockets (t.TempDir's carries the test's name).
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
