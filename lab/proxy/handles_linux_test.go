package proxy_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lab/probe"
	"github.com/nslab/nslab/lab/proxy"
)

// holders says what of process pid still refers to namespace ino: its
// descriptors on the namespace itself (stat /proc/PID/fd/N: readlink shows
// net:[INO] for /proc/PID/ns/net, but the path for a /run/netns bind
// mount) and its sockets born there (SIOCGSKNS, through lab/probe).
func holders(t testing.TB, pid int, ino uint64) (handles, sockets int) {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		var st unix.Stat_t
		if unix.Stat(filepath.Join(dir, e.Name()), &st) == nil && st.Ino == ino && isNsfs(filepath.Join(dir, e.Name())) {
			handles++
		}
	}
	snap, err := probe.Take(pid, probe.Options{Sockets: true})
	if err != nil {
		t.Fatal(err)
	}
	return handles, snap.SocketsByNetns()[ino]
}

// A route whose target is a named namespace follows the name: the
// namespace deleted and made again, the route dials the new one (by inode)
// and lets go of the old, which the kernel can then free.
func TestANamedRouteTargetFollowsItsNamespace(t *testing.T) {
	w := newWorld(t, 0, false)
	c := &churnTenant{name: w.base + "-t3"}
	c.up(t, w.s)
	t.Cleanup(func() { c.down(t, w.s) })
	p := mustNew(t, proxy.Config{Name: "follow", Rescan: -1,
		Routes: []proxy.Route{route("side", "host/tcp/127.0.0.1:0", c.name+"/tcp/127.0.0.1:9000")}})
	addr := p.Listeners()[0].Addr
	ask := func() string {
		cn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return err.Error()
		}
		defer cn.Close()
		cn.SetDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(cn).ReadString('\n')
		if err != nil {
			return "no answer: " + err.Error()
		}
		return strings.TrimSpace(line)
	}
	old := c.current()
	oldIno := old.Inode()
	old.Close()
	if got := ask(); got != strconv.FormatUint(oldIno, 10) {
		t.Fatalf("before: the route answered %q, want the backend in net:[%d]", got, oldIno)
	}
	c.down(t, w.s)
	c.up(t, w.s)
	now := c.current()
	newIno := now.Inode()
	now.Close()
	if err := p.Resync(); err != nil {
		t.Fatal(err)
	}
	if got := ask(); got != strconv.FormatUint(newIno, 10) {
		t.Errorf("after %s was made again (net:[%d] → net:[%d]) and a resync, the route answered %q", c.name, oldIno, newIno, got)
	}
	if h, s := holders(t, os.Getpid(), oldIno); h+s != 0 {
		t.Errorf("the deleted net:[%d] is still held: %d handles, %d sockets", oldIno, h, s)
	}
}

// Nothing is kept on a deleted namespace once nothing of it is served:
// one second after its tenant and the route that targeted it are
// removed, the worker has no descriptor on either namespace and no socket
// in one (the kernel can free them; umount of a /run/netns file that
// still held one said "target is busy").
func TestNoHandleOnADeletedNamespaceOnceUnused(t *testing.T) {
	w := newWorld(t, 2, true)
	ten, tgt := w.names[0], w.names[1]
	c, proc, err := proxy.StartWorker(w.s, "handles", proxy.Config{
		Rescan: -1, Tenants: []string{ten},
		Routes: []proxy.Route{
			route("web", "{tenant}/tcp/127.0.0.1:8080", "{tenant}/tcp/10.0.0.1:9000"),
			route("side", "host/tcp/127.0.0.1:0", tgt+"/tcp/10.0.0.1:9000"),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.s.Stop("handles", 5*time.Second)
	defer c.Close()
	if got := hello(t, w.nss[ten], "127.0.0.1:8080"); got != ten {
		t.Fatalf("web in %s answered %q", ten, got)
	}
	inos := map[string]uint64{ten: w.nss[ten].Inode(), tgt: w.nss[tgt].Inode()}
	for n, ino := range inos {
		if h, _ := holders(t, proc.PID, ino); h == 0 {
			t.Fatalf("the worker holds no handle on %s before: the test would prove nothing", n)
		}
	}
	// Both namespaces deleted (as ip netns del does) while still in use,
	// then their tenant and route removed.
	for _, n := range []string{ten, tgt} {
		w.nss[n].Close()
		if err := w.s.DelNetns(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.RemoveTenant(ten); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveRoute("side"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	for n, ino := range inos {
		if h, s := holders(t, proc.PID, ino); h+s != 0 {
			t.Errorf("1 s after its last use was removed, the worker still holds deleted %s (net:[%d]): %d handles, %d sockets", n, ino, h, s)
		}
	}
	if st, err := c.Stats(); err != nil || st.Namespaces != 0 { // the web route is left, with no tenant
		t.Errorf("stats: %d namespaces held (%v), want 0", st.Namespaces, err)
	}
}

func isNsfs(path string) bool {
	var sfs unix.Statfs_t
	return unix.Statfs(path, &sfs) == nil && sfs.Type == unix.NSFS_MAGIC
}
