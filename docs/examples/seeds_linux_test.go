package examples

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

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
	if got, want := threadNamespaces(t, pid), ownNs(t, "net"); len(got) != 1 || got[0] != want {
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

// UDP and an abstract unix socket, inside: both live in the namespace's
// own tables (ss inside lists them, ss on the host does not).
func TestListenInUDPAndAbstractUnix(t *testing.T) {
	labtest.RequireRoot(t)
	ns := netnsAdd(t, "lu")
	udp := start(t, "listen-in", "-net", "udp", "/run/netns/"+ns, "127.0.0.1:8091")
	udp.until("listening")
	if out := sh(t, "ip", "netns", "exec", ns, "ss", "-Hlunp"); !strings.Contains(out, "127.0.0.1:8091") || !strings.Contains(out, fmt.Sprintf("pid=%d,", udp.cmd.Process.Pid)) {
		t.Errorf("ss -lun inside %s: no UDP socket of the example on 127.0.0.1:8091:\n%s", ns, out)
	}
	if out := sh(t, "bash", "-c", "echo ping | ip netns exec "+ns+" socat -t 2 - UDP:127.0.0.1:8091"); !strings.Contains(out, "echo: ping") {
		t.Errorf("a datagram from inside: answer %q", out)
	}
	name := "@" + ns
	abs := start(t, "listen-in", "-net", "unix", "/run/netns/"+ns, name)
	abs.until("listening")
	if out := sh(t, "ip", "netns", "exec", ns, "ss", "-Hlx"); !strings.Contains(out, name) {
		t.Errorf("ss -lx inside %s lacks %s:\n%s", ns, name, out)
	}
	if out := sh(t, "ss", "-Hlx"); strings.Contains(out, name) {
		t.Errorf("ss -lx on the host lists %s, which lives in %s:\n%s", name, ns, out)
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
			th, ok := labtest.StatusField(pid, "Threads")
			if !ok {
				t.Fatalf("no Threads: line in /proc/%d/status", pid)
			}
			if !c.ok(int(th)) {
				t.Errorf("%s: %d threads for %d tenants, want %s", c.strategy, th, n, c.want)
			}
			out := sh(t, "ip", "netns", "exec", tenants[n-1], "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/7411; echo knock >&3; head -1 <&3")
			if strings.TrimSpace(out) != "echo: knock" {
				t.Errorf("through the proxy from %s: %q, want the host service's echo", tenants[n-1], out)
			}
		})
	}
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
	if out := sh(t, "lsns", "-n", "-o", "NS", "-t", "net", "-p", fmt.Sprint(pid)); strings.TrimSpace(out) == strings.Trim(strings.TrimPrefix(ownNs(t, "net"), "net:"), "[]") {
		t.Errorf("lsns: the child is in our network namespace")
	}
	out := p.finish()
	if strings.Count(out, "reply in") != 2 {
		t.Errorf("want two pings answered:\n%s", out)
	}
	if labtest.IPOK("link", "show", host) {
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
	if !strings.Contains(out, "another pair named "+prefix+"1: "+prefix+"1 is taken: file exists") {
		t.Errorf("a second pair with a taken name: want EEXIST:\n%s", out)
	}
	if labtest.IPOK("link", "show", br) {
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

// A namespace deleted with ip netns del while a process still has a
// socket in it lives on, nameless: lsns does not list it, holders names
// the socket, and once the process ends nothing holds it.
func TestHoldersOfANamelessNamespace(t *testing.T) {
	labtest.RequireRoot(t)
	ns := netnsAdd(t, "hd")
	nsid := "net:[" + strings.TrimSpace(sh(t, "stat", "-L", "-c", "%i", "/run/netns/"+ns)) + "]"
	out := start(t, "holders", "/run/netns/"+ns).finish()
	if !strings.Contains(out, nsid+": ") || !strings.Contains(out, "mount    /run/netns/"+ns) {
		t.Errorf("holders of a fresh namespace: want its bind mount at /run/netns/%s:\n%s", ns, out)
	}

	p := start(t, "listen-in", "/run/netns/"+ns, "127.0.0.1:8090")
	p.until("listening")
	sh(t, "ip", "netns", "del", ns)
	out = start(t, "holders", nsid).finish()
	if want := fmt.Sprintf("socket   pid %d (listen-in)", p.cmd.Process.Pid); !strings.Contains(out, want) {
		t.Errorf("holders after ip netns del: want %q:\n%s", want, out)
	}
	if strings.Contains(out, "process  ") || strings.Contains(out, "(in "+ownNs(t, "mnt")+")") {
		t.Errorf("holders after ip netns del: no process, and no mount of ours, should hold it:\n%s", out)
	}
	lsns := sh(t, "lsns", "-t", "net", "-n", "-o", "NS")
	if strings.Contains(" "+strings.Join(strings.Fields(lsns), " ")+" ", " "+strings.Trim(nsid, "net:[]")+" ") {
		t.Errorf("lsns lists the namespace, which no process is in:\n%s", lsns)
	}

	p.cmd.Process.Kill()
	p.cmd.Wait()
	// Other tests' private mount namespaces made while the name existed
	// keep copies of its mount: real holders, but not this test's.
	var ours []string
	for _, l := range strings.Split(start(t, "holders", nsid).finish(), "\n")[1:] {
		if !strings.HasPrefix(strings.TrimSpace(l), "mount") || strings.Contains(l, "(in "+ownNs(t, "mnt")+")") {
			ours = append(ours, l)
		}
	}
	if len(ours) > 0 {
		t.Errorf("holders after the listener ended: %q", ours)
	}
	if out := start(t, "holders", nsid).finish(); strings.Contains(out, ": 0 holder(s)") {
		if out := start(t, "holders", "-wait-free", "10s", nsid).finish(); !strings.Contains(out, "no holders") {
			t.Errorf("holders -wait-free after the listener ended:\n%s", out)
		}
	}
	if err := exec.Command(bin(t, "holders"), "-wait-free", "100ms", "/proc/self/ns/net").Run(); err == nil {
		t.Errorf("holders -wait-free on the host's namespace: exit 0, want 1 (it is held)")
	}
}

// proctree sums a shell and the two sleeps it started: three processes,
// three threads, and as many descriptors as ls finds in their fd
// directories.
func TestProctreeSumsAProcessAndItsChildren(t *testing.T) {
	sh := exec.Command("sh", "-c", "sleep 60 & sleep 60 & wait")
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { exec.Command("pkill", "-P", fmt.Sprint(sh.Process.Pid)).Run(); sh.Process.Kill(); sh.Wait() }()
	var tree labtest.TreeSums
	for end := time.Now().Add(10 * time.Second); tree.Procs < 3; time.Sleep(20 * time.Millisecond) {
		if tree = labtest.TreeByHand(sh.Process.Pid); time.Now().After(end) {
			t.Fatalf("the shell's tree has %d processes, want 3 (the shell and two sleeps)", tree.Procs)
		}
	}
	fds := tree.FDs
	out := start(t, "proctree", fmt.Sprint(sh.Process.Pid)).finish()
	lines := strings.Split(out, "\n")
	if len(lines) != 2 {
		t.Fatalf("want a header and one row:\n%s", out)
	}
	f := strings.Fields(lines[1])
	if len(f) != 6 || f[1] != "3" || f[2] != "3" || f[5] != fmt.Sprint(fds) {
		t.Errorf("proctree: want 3 processes, 3 threads, %d fds (ls /proc/PID/fd):\n%s", fds, out)
	}
	if f[3] == "0.0" {
		t.Errorf("proctree: no PSS:\n%s", out)
	}
}
