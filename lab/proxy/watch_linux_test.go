package proxy_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// greet is hello that reports failure instead of ending the test.
func greet(ns *lab.Netns, addr string) string {
	c, err := lab.DialIn(ns, "tcp", addr, 5*time.Second)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(line)
}

// eventually polls cond up to 400 times, 25 ms apart.
func eventually(cond func() bool) bool {
	for range 400 {
		if cond() {
			return true
		}
		time.Sleep(25 * time.Millisecond)
	}
	return false
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
	if !eventually(func() bool { return len(p.Listeners()) == 0 }) {
		t.Fatalf("%d listeners still in the deleted namespace: its deletion was not noticed", len(p.Listeners()))
	}
	ns := w.addTenant(t, name, true)
	if !eventually(func() bool { return greet(ns, "127.0.0.1:8080") == name }) {
		t.Fatalf("after recreating %s, 127.0.0.1:8080 answered %q", name, greet(ns, "127.0.0.1:8080"))
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
	if !eventually(func() bool { return len(p.Listeners()) == 0 }) {
		t.Fatalf("%d listeners still in the namespace whose directory went", len(p.Listeners()))
	}
	if !proxy.Polls(p) {
		t.Fatalf("the directory went, and the watcher has nothing to poll for it")
	}
	mount(w.names[1])
	proxy.Tick(p) // watches the directory again, and looks at every name
	if !eventually(func() bool { return greet(w.nss[w.names[1]], "127.0.0.1:8080") == w.names[1] }) {
		t.Fatalf("after the directory came back with another namespace, 127.0.0.1:8080 there answered %q", greet(w.nss[w.names[1]], "127.0.0.1:8080"))
	}
}
