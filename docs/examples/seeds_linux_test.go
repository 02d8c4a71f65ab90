package examples

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
)

// Listen in another namespace ("Operate Linux Network Namespace with
// Go"): the listener is in the namespace, the process and all its threads
// are not.
func TestListenInAnotherNamespace(t *testing.T) {
	labtest.RequireRoot(t)
	ns := netnsAdd(t, "li")
	p := start(t, "listen-in", "-http", "/run/netns/"+ns, "127.0.0.1:8080")
	p.until("listening")
	pid := p.cmd.Process.Pid
	if got := listenersOf(t, ns, pid); len(got) != 1 || !strings.Contains(got[0], "127.0.0.1:8080") {
		t.Errorf("ss in %s: listeners of %d = %q, want one on 127.0.0.1:8080", ns, pid, got)
	}
	if got := listenersOf(t, "", pid); len(got) != 0 {
		t.Errorf("ss on the host shows the example listening: %q", got)
	}
	if got, want := threadNamespaces(t, pid), ownNetns(t); len(got) != 1 || got[0] != want {
		t.Errorf("the example's threads are in %v, want all in %s", got, want)
	}
	if out := sh(t, "ip", "netns", "exec", ns, "curl", "-s", "http://127.0.0.1:8080/x"); !strings.Contains(out, "hello from inside /run/netns/"+ns) {
		t.Errorf("curl from inside %s: %q", ns, out)
	}
	// -knock: from inside, the same address at home, then closed.
	out := start(t, "listen-in", "-knock", "/run/netns/"+ns, "127.0.0.1:8081").finish()
	for _, want := range []string{"knocked from inside /run/netns/" + ns + ": echo: knock", "127.0.0.1:8081, no conflict", "connection refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("listen-in -knock: output lacks %q:\n%s", want, out)
		}
	}
}

// Many namespaces from one process ("The Namespace Binding Challenge"):
// shared threads stay few however many tenants, the other strategies pay
// a thread per namespace; every tenant's listener forwards to the host.
func TestManyNamespacesFromOneProcess(t *testing.T) {
	labtest.RequireRoot(t)
	const n = 30
	var tenants []string
	for i := 0; i < n; i++ {
		tenants = append(tenants, netnsAdd(t, "mn"))
	}
	to := hostEcho(t)
	for _, c := range []struct {
		strategy string
		ok       func(threads int) bool
		want     string
	}{
		{"shared", func(th int) bool { return th <= 12 }, "<= 12"},
		{"thread-per-namespace", func(th int) bool { return th >= n }, fmt.Sprintf(">= %d", n)},
		{"blocking-accept", func(th int) bool { return th >= n }, fmt.Sprintf(">= %d", n)},
	} {
		t.Run(c.strategy, func(t *testing.T) {
			p := start(t, "nsproxy", append([]string{"-strategy", c.strategy, "-listen", "127.0.0.1:7411", "-to", to}, tenants...)...)
			p.until(c.strategy + ":")
			pid := p.cmd.Process.Pid
			for _, ns := range []string{tenants[0], tenants[n/2], tenants[n-1]} {
				if got := listenersOf(t, ns, pid); len(got) != 1 {
					t.Errorf("ss in %s: %d listeners of the proxy, want 1", ns, len(got))
				}
			}
			if th := threads(t, pid); !c.ok(th) {
				t.Errorf("%s: %d threads for %d tenants, want %s", c.strategy, th, n, c.want)
			}
			out := sh(t, "ip", "netns", "exec", tenants[n-1], "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/7411; echo knock >&3; head -1 <&3")
			if strings.TrimSpace(out) != "echo: knock" {
				t.Errorf("through the proxy from %s: %q, want the host service's echo", tenants[n-1], out)
			}
		})
	}
}

// threads reads Threads: from /proc/PID/status.
func threads(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return -1
}

// A veth pair into a cloned child, a default route, pings both ways
// (Docker's bridge model in Go); the veth dies with the child.
func TestVethIntoAClonedChild(t *testing.T) {
	labtest.RequireRoot(t)
	host := "nslab-" + labtest.Name("v")
	p := start(t, "veth", "-hold", "-host-if", host, "-subnet", "10.231.17", "-far", "10.232.17.1")
	var pid int
	fmt.Sscanf(p.until("child PID"), "child PID %d", &pid)
	p.until("ready")
	if out := sh(t, "nsenter", "-t", fmt.Sprint(pid), "-n", "ip", "-br", "addr", "show", "ceth0"); !strings.Contains(out, "10.231.17.2/24") || !strings.Contains(out, "UP") {
		t.Errorf("ceth0 inside the child: %q", out)
	}
	if out := sh(t, "nsenter", "-t", fmt.Sprint(pid), "-n", "ip", "route"); !strings.Contains(out, "default via 10.231.17.1 dev ceth0") {
		t.Errorf("routes inside the child: %q", out)
	}
	if out := sh(t, "lsns", "-n", "-o", "NS", "-t", "net", "-p", fmt.Sprint(pid)); strings.TrimSpace(out) == strings.Trim(strings.TrimPrefix(ownNetns(t), "net:"), "[]") {
		t.Errorf("lsns: the child is in our network namespace")
	}
	out := p.finish()
	if strings.Count(out, "reply in") != 2 {
		t.Errorf("want two pings answered:\n%s", out)
	}
	if err := exec.Command("ip", "link", "show", host).Run(); err == nil {
		t.Errorf("%s is still on the host after the child ended", host)
	}
}

// The bridge: children plugged in, each configuring its own end.
func TestVethChildrenOnABridge(t *testing.T) {
	labtest.RequireRoot(t)
	br, prefix := "nslab-"+labtest.Name("b"), "nslab-"+labtest.Name("p")
	p := start(t, "veth", "-hold", "-bridge", br, "-host-if", prefix, "-children", "3", "-subnet", "10.231.18")
	p.until("ready")
	if out := sh(t, "ip", "-br", "link", "show", "master", br); strings.Count(out, prefix) != 3 {
		t.Errorf("ports of %s: %q, want 3", br, out)
	}
	out := p.finish()
	if strings.Count(out, "reply in") != 9 {
		t.Errorf("want 9 pings answered (each child to the two others and the bridge):\n%s", out)
	}
	if err := exec.Command("ip", "link", "show", br).Run(); err == nil {
		t.Errorf("%s is still there after the example ended", br)
	}
}

// ip netns add in Go, and a look inside: only lo, down; 127.0.0.1
// unreachable until it is up; the name and the namespace are one inode.
func TestNetnsLikeIPNetnsAdd(t *testing.T) {
	labtest.RequireRoot(t)
	name := "nslab-" + labtest.Name("nn")
	p := start(t, "netns", "-keep", "-name", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	out := p.finish()
	if !strings.Contains(sh(t, "ip", "netns", "list"), name) {
		t.Errorf("ip netns list does not show %s", name)
	}
	if got := strings.Fields(sh(t, "ip", "-n", name, "-br", "link")); len(got) < 2 || got[0] != "lo" || got[1] != "UNKNOWN" {
		t.Errorf("ip -n %s -br link: %q, want lo, up (UNKNOWN)", name, got)
	}
	for _, want := range []string{"1 interface(s)", "network is unreachable", "connection refused", "the same namespace"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// Tenants with one address, one front door choosing by Host.
func TestHTTPTenantsBehindOneFrontDoor(t *testing.T) {
	labtest.RequireRoot(t)
	a, b := netnsAdd(t, "ta"), netnsAdd(t, "tb")
	p := start(t, "http-tenants", "-setup", "-front", "127.0.0.1:7412", a, b)
	p.until("front door")
	for _, ns := range []string{a, b} {
		if got := listenersOf(t, ns, p.cmd.Process.Pid); len(got) != 1 || !strings.Contains(got[0], "10.0.0.1:80") {
			t.Errorf("ss in %s: %q, want one listener on 10.0.0.1:80", ns, got)
		}
	}
	if out := sh(t, "curl", "-s", "-H", "Host: "+b+".example", "http://127.0.0.1:7412/cart"); strings.TrimSpace(out) != b+": GET "+b+".example /cart" {
		t.Errorf("curl for %s: %q", b, out)
	}
	if out := sh(t, "curl", "-s", "-w", " %{http_code}", "-H", "Host: nobody.example", "http://127.0.0.1:7412/"); !strings.HasSuffix(out, " 502") {
		t.Errorf("curl for nobody: %q, want a 502", out)
	}
}
