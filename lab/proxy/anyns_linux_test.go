package proxy_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// outsideNetns makes a namespace the way an operator (or a container
// runtime) would, outside the lab: `ip netns add NAME` (by name), or a
// process of its own reached only through /proc/PID/ns/net. Each gets lo
// up, and the backends of the other tests, answering with name.
func outsideNetns(t *testing.T, byName bool, name string) (ref string, ns *lab.Netns) {
	t.Helper()
	labtest.RequireRoot(t)
	if byName {
		labtest.ForeignNetns(t, name)
		ref = name
	} else {
		sleeper := labtest.Start(t, "unshare", "--net", "sleep", "300")
		ref = fmt.Sprintf("/proc/%d/ns/net", sleeper.Process.Pid)
		home, _ := lab.StatNetnsRef("host")
		labtest.Eventually(time.Second, func() bool { // until unshare has made the namespace
			ino, err := lab.StatNetnsRef(ref)
			return err == nil && ino != home
		})
	}
	ns, err := lab.OpenNetnsRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	for _, args := range [][]string{{"link", "set", "lo", "up"}, {"addr", "add", "10.0.0.1/32", "dev", "lo"}} {
		labtest.Cmd(t, "nsenter", append([]string{"--net=" + ns.Path(), "ip"}, args...)...)
	}
	startBackends(t, ns, name)
	return ref, ns
}

// The seed's own setup: a namespace made with `ip netns add`, and one a
// process made (a container's, say) reached only by /proc/PID/ns/net, are
// each served as a tenant, by name and by path, as the config, the
// command line and the control API write them.
func TestAnyNamespaceIsATenant(t *testing.T) {
	s := labtest.New(t)
	_ = s
	plain := labtest.Name("acc-")
	plainRef, plainNs := outsideNetns(t, true, plain)
	boxRef, boxNs := outsideNetns(t, false, "box")
	p := mustNew(t, proxy.Config{Name: "anyns", Rescan: -1, Routes: tenantRoutes(),
		Tenants: []string{plainRef, "box=" + boxRef}})
	for _, c := range []struct {
		ns   *lab.Netns
		want string
	}{{plainNs, plain}, {boxNs, "box"}} {
		if got := hello(t, c.ns, "127.0.0.1:8080"); got != c.want {
			t.Errorf("tcp in %s answered %q, want %q", c.ns, got, c.want)
		}
		if got := askUDP(t, c.ns, "127.0.0.1:8080", "id?"); got != c.want+":id?" {
			t.Errorf("udp in %s answered %q", c.ns, got)
		}
	}
	// Where the listeners are, as ss inside each namespace shows them.
	for _, ns := range []*lab.Netns{plainNs, boxNs} {
		out, err := exec.Command("nsenter", "--net="+ns.Path(), "ss", "-Htln", "sport = :8080").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "127.0.0.1:8080") {
			t.Errorf("ss in %s: %s %v", ns, out, err)
		}
	}
	// The same by pid:N, and a tenant name with no reference that names no
	// namespace is refused with what to write.
	pid := strings.TrimSuffix(strings.TrimPrefix(boxRef, "/proc/"), "/ns/net")
	if err := p.RemoveTenant("box"); err != nil {
		t.Fatal(err)
	}
	if err := p.AddTenant("box=pid:" + pid); err != nil {
		t.Fatal(err)
	}
	if got := hello(t, boxNs, "127.0.0.1:8080"); got != "box" {
		t.Errorf("box by pid:%s answered %q", pid, got)
	}
	if err := p.AddTenant("pid:" + pid); err == nil || !strings.Contains(err.Error(), "write NAME=pid:"+pid) {
		t.Errorf("a tenant given as a bare pid: %v; want an error that says to name it", err)
	}
	if err := p.AddTenant(labtest.Name("nosuch")); err == nil || !strings.Contains(err.Error(), "ip netns add") {
		t.Errorf("a tenant whose namespace does not exist: %v; want an error naming both places looked at", err)
	}
}
