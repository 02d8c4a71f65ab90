package proxy_test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// 10 000 connect/close cycles leave no fd and no goroutine behind, and
// removing every tenant (then closing) returns the process to where it was.
func TestNoLeakAfterManyConnectionsAndRemovingTenants(t *testing.T) {
	w := newWorld(t, 2, true)
	before := goleak.IgnoreCurrent()
	fds := openFDs(t)
	p, err := proxy.New(proxy.Config{Name: "leak", Routes: tenantRoutes(), Tenants: w.names, Rescan: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	bound := openFDs(t)
	for i := range 10000 {
		ns := w.nss[w.names[i%2]]
		c, err := lab.DialIn(ns, "tcp", "127.0.0.1:8080", 5*time.Second)
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if i%10 == 0 { // read the greeting on some, close the rest at once
			buf := make([]byte, 4)
			io.ReadFull(c, buf)
		}
		c.Close()
	}
	if !waitFor(func() bool { return p.Stats().Total().Active == 0 }) {
		t.Fatalf("%d connections still active after every client closed", p.Stats().Total().Active)
	}
	if !waitFor(func() bool {
		p.Tidy() // the idle splice pipes, kept for the next burst
		return openFDs(t) == bound
	}) {
		t.Errorf("%d fds open after 10 000 cycles, %d before them", openFDs(t), bound)
		ents, _ := os.ReadDir("/proc/self/fd")
		for _, e := range ents {
			l, _ := os.Readlink("/proc/self/fd/" + e.Name())
			t.Logf("fd %s -> %s", e.Name(), l)
		}
	}
	if got := p.Stats().Total().Conns; got != 10000 {
		t.Errorf("counted %d connections, want 10000", got)
	}
	if err := p.RemoveTenant(w.names...); err != nil {
		t.Fatal(err)
	}
	if n := len(p.Listeners()); n != 0 {
		t.Errorf("%d listeners left after removing every tenant", n)
	}
	p.Close()
	if !waitFor(func() bool { return openFDs(t) <= fds }) {
		t.Errorf("%d fds open after Close, %d before the proxy", openFDs(t), fds)
	}
	goleak.VerifyNone(t, before)
}

// The control socket drives a worker process: add and remove tenants live,
// read stats, stop it.
func TestWorkerIsControlledOverItsSocket(t *testing.T) {
	w := newWorld(t, 2, true)
	c, proc, err := proxy.StartWorker(w.s, "ctl", proxy.Config{Routes: tenantRoutes(), Tenants: w.names[:1]})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Its output goes to a log file of the session, never to our stdout
	// or stderr: a worker left by `nslab run --keep` held the caller's
	// pipe open until cleanup.
	for _, fd := range []string{"1", "2"} {
		got, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", proc.PID, fd))
		mine, _ := os.Readlink("/proc/self/fd/" + fd)
		if got == mine || !strings.HasSuffix(got, ".log") {
			t.Errorf("worker fd %s is %q (ours is %q), want its log file", fd, got, mine)
		}
	}
	if got := hello(t, w.nss[w.names[0]], "127.0.0.1:8080"); got != w.names[0] {
		t.Errorf("first tenant answered %q", got)
	}
	if err := c.AddTenant(w.names[1]); err != nil {
		t.Fatal(err)
	}
	if got := hello(t, w.nss[w.names[1]], "127.0.0.1:8080"); got != w.names[1] {
		t.Errorf("added tenant answered %q", got)
	}
	// No names is nothing to do, not an error (nslab bench adds none to
	// an idle worker).
	if err := c.AddTenant(); err != nil {
		t.Errorf("AddTenant() with no names: %v", err)
	}
	if err := c.RemoveTenant(); err != nil {
		t.Errorf("RemoveTenant() with no names: %v", err)
	}
	// Routes over the socket too: add one, reach it, list it, remove it.
	if err := c.AddRoute(route("alt", "{tenant}/tcp/127.0.0.1:8081", "{tenant}/tcp/10.0.0.1:9000")); err != nil {
		t.Fatal(err)
	}
	if got := hello(t, w.nss[w.names[1]], "127.0.0.1:8081"); got != w.names[1] {
		t.Errorf("route added over the socket answered %q", got)
	}
	if rs, err := c.Routes(); err != nil || len(rs) != 3 || rs[2].Name != "alt" || rs[2].Listen.Addr.Port() != 8081 {
		t.Errorf("Routes() = %+v, %v; want web, dns, alt", rs, err)
	}
	if err := c.AddRoute(route("bad", "{tenant}/tcp/127.0.0.1:8082", "{tenant}/udp/10.0.0.1:9000")); err == nil || !strings.Contains(err.Error(), "cannot carry") {
		t.Errorf("a tcp-to-udp route over the socket: %v, want the route's error", err)
	}
	if err := c.RemoveRoute("alt"); err != nil {
		t.Fatal(err)
	}
	if c2, err := lab.DialIn(w.nss[w.names[1]], "tcp", "127.0.0.1:8081", time.Second); err == nil {
		c2.Close()
		t.Errorf("a removed route still accepts connections")
	}
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Procs[0].PID != proc.PID || st.Threads == 0 || st.RSS == 0 || st.Listeners != 4 {
		t.Errorf("stats = %+v, want the worker's pid, threads, RSS and 4 listeners", st)
	}
	if err := c.AddTenant("no-such-ns"); err == nil {
		t.Errorf("adding a missing namespace succeeded")
	}
	if err := c.RemoveTenant(w.names[0]); err != nil {
		t.Fatal(err)
	}
	if c2, err := lab.DialIn(w.nss[w.names[0]], "tcp", "127.0.0.1:8080", time.Second); err == nil {
		c2.Close()
		t.Errorf("a removed tenant still accepts connections")
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-proc.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not exit after Stop")
	}
}

// A tenant namespace deleted and recreated under the same name is noticed
// (by its inode) and its listeners are bound again in the new one.
func TestRecreatedNamespaceIsRebound(t *testing.T) {
	w := newWorld(t, 1, true)
	name := w.names[0]
	p := mustNew(t, proxy.Config{Name: "rebind", Routes: tenantRoutes(), Tenants: w.names, Rescan: -1})
	old := w.nss[name].Inode()
	if got := hello(t, w.nss[name], "127.0.0.1:8080"); got != name {
		t.Fatalf("before: %q", got)
	}
	if err := w.s.DelNetns(name); err != nil {
		t.Fatal(err)
	}
	ns := w.addTenant(t, name, true)
	if ns.Inode() == old {
		t.Fatalf("the recreated namespace has the old inode %d", old)
	}
	if err := p.Resync(); err != nil {
		t.Fatal(err)
	}
	if got := hello(t, ns, "127.0.0.1:8080"); got != name {
		t.Errorf("after recreating %s, 127.0.0.1:8080 answered %q", name, got)
	}
	ls := p.Listeners()
	if len(ls) != 2 {
		t.Fatalf("%d listeners after the rebind, want 2", len(ls))
	}
	for _, l := range ls {
		if l.Key.Inode != ns.Inode() {
			t.Errorf("listener %s keyed by net:[%d], want the new net:[%d]", l.Route, l.Key.Inode, ns.Inode())
		}
	}
	// Gone for good: its sockets close (the proxy must not keep a deleted
	// namespace alive), and the tenant stays known for when it returns.
	if err := w.s.DelNetns(name); err != nil {
		t.Fatal(err)
	}
	p.Resync()
	if n := len(p.Listeners()); n != 0 {
		t.Errorf("%d listeners kept in a deleted namespace", n)
	}
}

// A tenant namespace deleted and made again under its name is rebound on
// the file's inotify events alone: the timer (an hour) never runs.
func TestRecreatedNamespaceIsReboundOnItsEvents(t *testing.T) {
	w := newWorld(t, 1, true)
	name := w.names[0]
	p := mustNew(t, proxy.Config{Name: "events", Routes: tenantRoutes(), Tenants: w.names, Rescan: time.Hour})
	if got := hello(t, w.nss[name], "127.0.0.1:8080"); got != name {
		t.Fatalf("before: %q", got)
	}
	if err := w.s.DelNetns(name); err != nil {
		t.Fatal(err)
	}
	if !waitFor(func() bool { return len(p.Listeners()) == 0 }) {
		t.Fatalf("%d listeners still in the deleted namespace: its deletion was not noticed", len(p.Listeners()))
	}
	ns := w.addTenant(t, name, true)
	if !waitFor(func() bool { got, _ := greet(ns, "127.0.0.1:8080"); return got == name }) {
		got, err := greet(ns, "127.0.0.1:8080")
		t.Fatalf("after recreating %s, 127.0.0.1:8080 answered %q (%v)", name, got, err)
	}
	for _, l := range p.Listeners() {
		if l.Key.Inode != ns.Inode() {
			t.Errorf("listener %s keyed by net:[%d], want the new net:[%d]", l.Route, l.Key.Inode, ns.Inode())
		}
	}
}

// An idle proxy with many tenants named in /run/netns has nothing to
// poll: its timer is not even armed, and a tick looks at no namespace.
// A reference inotify cannot see (a /proc path) is polled.
func TestAnIdleProxyPollsNothing(t *testing.T) {
	w := newWorld(t, 50, false)
	p := mustNew(t, proxy.Config{Name: "idle", Tenants: w.names, Rescan: time.Hour,
		Routes: []proxy.Route{route("web", "{tenant}/tcp/127.0.0.1:8080", "{tenant}/tcp/10.0.0.1:9000")}})
	if proxy.Polls(p) {
		t.Errorf("with %d tenants in /run/netns, the watcher has something to poll", len(w.names))
	}
	proxy.Tick(p)
	if c := p.Checked(); c != 0 {
		t.Errorf("an idle tick looked at %d namespaces, want 0", c)
	}
	// A thread of this process in a namespace of its own, as a tenant.
	ns := w.addTenant(t, w.base+"-thread", false)
	tid, quit := make(chan int), make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if err := ns.Enter(); err != nil {
			runtime.UnlockOSThread()
			tid <- 0
			return
		}
		tid <- unix.Gettid()
		<-quit // returns locked: the runtime ends the thread
	}()
	defer close(quit)
	id := <-tid
	if id == 0 {
		t.Fatal("could not enter the namespace")
	}
	if err := p.AddTenant(fmt.Sprintf("bythread=/proc/%d/task/%d/ns/net", os.Getpid(), id)); err != nil {
		t.Fatal(err)
	}
	if !proxy.Polls(p) {
		t.Errorf("with a tenant named by a /proc path, the watcher has nothing to poll")
	}
	proxy.Tick(p)
	if c := p.Checked(); c != 1 {
		t.Errorf("a tick with one tenant named by a /proc path looked at %d namespaces, want 1", c)
	}
}

// An idle proxy wakes for nothing: after traffic, and the tidy that
// follows it, no timer and no poll runs, so none of its threads is
// scheduled. Judged by the kernel's count of each thread's context
// switches (/proc/PID/task/TID/status): a thread that wakes, switches.
// The daemon's tidy used to look at the counters every second, which woke
// the process, and the runtime's monitor with it, once a second or more.
// The CPU policy (ScaleProcs) looks only while traffic moves.
func TestIdleProxyWakesForNothing(t *testing.T) {
	w := newWorld(t, 10, true)
	// Rescan -1: no watch on /run/netns, where the other packages' tests
	// make and remove namespaces while this one runs (each one a wake-up,
	// and rightly so, for a proxy that follows names).
	c, proc, err := proxy.StartWorker(w.s, "idle-wake", proxy.Config{Routes: tenantRoutes(), Tenants: w.names, Rescan: -1, ScaleProcs: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.s.Stop("idle-wake", 10*time.Second)
	defer c.Close()
	for _, name := range w.names {
		if err := ask(w.nss[name], name); err != nil {
			t.Fatalf("tenant %s: %v", name, err)
		}
	}
	// The tidy: quiet for 100 ms, then a trim and 3 looks at the thread
	// count, a second apart. Then nothing, however long it is watched.
	idleThreads(t, proc.PID, runtime.GOMAXPROCS(0)+4)
	time.Sleep(5 * time.Second)
	for try := 0; ; try++ {
		before := switches(t, proc.PID)
		time.Sleep(3 * time.Second)
		after := switches(t, proc.PID)
		woke := wakeups(before, after)
		if len(woke) == 0 {
			return
		}
		// The runtime's own: a forced GC every 2 minutes and the scavenger
		// after it may fall in a window; they do not come back 3 s later.
		if try == 2 {
			t.Fatalf("an idle proxy's threads woke in each of 3 windows of 3 s; the last: %s", strings.Join(woke, ", "))
		}
	}
}

// switches reads each thread's voluntary and involuntary context switches.
func switches(t *testing.T, pid int) map[string]int {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join(fmt.Sprintf("/proc/%d/task", pid), task.Name(), "status"))
		if err != nil {
			continue // ended meanwhile
		}
		n := 0
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && strings.HasSuffix(k, "ctxt_switches") {
				x, _ := strconv.Atoi(strings.TrimSpace(v))
				n += x
			}
		}
		out[task.Name()] = n
	}
	return out
}

// wakeups names the threads that switched between two reads (a thread
// new in the second read woke too).
func wakeups(before, after map[string]int) []string {
	var woke []string
	for tid, n := range after {
		if m, ok := before[tid]; !ok || n != m {
			woke = append(woke, fmt.Sprintf("thread %s: %d switches", tid, n-m))
		}
	}
	return woke
}

// A tenant named by a path in a directory that is removed and made again
// (a runtime's netns directory, say): the watch on the directory goes
// with it, and the proxy watches it again once it is back, and finds the
// namespace mounted there meanwhile.
func TestAWatchedDirectoryRemovedAndMadeAgain(t *testing.T) {
	w := newWorld(t, 2, true)
	dir := filepath.Join(t.TempDir(), "netns")
	file := filepath.Join(dir, "acc")
	mount := func(name string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount(w.nss[name].Path(), file, "", unix.MS_BIND, ""); err != nil {
			t.Fatal(err)
		}
	}
	unmount := func() {
		unix.Unmount(file, unix.MNT_DETACH)
		os.RemoveAll(dir)
	}
	t.Cleanup(unmount)
	mount(w.names[0])
	p := mustNew(t, proxy.Config{Name: "dirgone", Tenants: []string{"acc=" + file}, Rescan: time.Hour,
		Routes: []proxy.Route{route("web", "{tenant}/tcp/127.0.0.1:8080", "{tenant}/tcp/10.0.0.1:9000")}})
	if got := hello(t, w.nss[w.names[0]], "127.0.0.1:8080"); got != w.names[0] {
		t.Fatalf("before: %q", got)
	}
	unmount()
	if !waitFor(func() bool { return len(p.Listeners()) == 0 }) {
		t.Fatalf("%d listeners still in the namespace whose directory went", len(p.Listeners()))
	}
	if !proxy.Polls(p) {
		t.Fatalf("the directory went, and the watcher has nothing to poll for it")
	}
	mount(w.names[1])
	proxy.Tick(p) // watches the directory again, and looks at every name
	if !waitFor(func() bool { got, _ := greet(w.nss[w.names[1]], "127.0.0.1:8080"); return got == w.names[1] }) {
		got, err := greet(w.nss[w.names[1]], "127.0.0.1:8080")
		t.Fatalf("after the directory came back with another namespace, 127.0.0.1:8080 there answered %q (%v)", got, err)
	}
}

// A process-per-namespace worker that its session ends (with SIGKILL: it
// gets no chance to tidy up) leaves nothing behind: its children's
// control sockets, as `ss -xlp` lists them in each tenant, were in a
// directory the session removes.
func TestAKilledProcessPerNamespaceWorkerLeavesNoDirectory(t *testing.T) {
	w := newWorld(t, 2, true)
	c, proc, err := proxy.StartWorker(w.s, "ppn", proxy.Config{Strategy: proxy.ProcessPerNamespace, Routes: tenantRoutes(), Tenants: w.names})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	// Each child is forked by a thread switched into its tenant: the
	// children are listed per thread.
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", proc.PID))
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		kids = append(kids, strings.Fields(string(b))...)
	}
	dirs := map[string]bool{}
	for _, kid := range kids {
		out, err := exec.Command("nsenter", "--net=/proc/"+kid+"/ns/net", "ss", "-xlpn").CombinedOutput()
		if err != nil {
			t.Fatalf("ss in child %s's namespace: %v: %s", kid, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 4 && strings.Contains(line, "pid="+kid+",") {
				// ss names the socket where it was bound: in a private
				// directory beside its path, before it was renamed there.
				d := filepath.Dir(f[4])
				if strings.HasPrefix(filepath.Base(d), ".nslab-control-") {
					d = filepath.Dir(d)
				}
				dirs[d] = true
			}
		}
	}
	if len(dirs) == 0 {
		t.Fatalf("no control socket of the worker's children (%q) in `ss -xlpn`", kids)
	}
	if err := w.s.Close(); err != nil {
		t.Fatal(err)
	}
	for d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("the children's socket directory %s is still there after the session closed (stat: %v)", d, err)
		}
	}
}
