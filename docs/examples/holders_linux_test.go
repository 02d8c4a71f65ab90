package examples

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
)

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
	if strings.Contains(out, "process  ") || strings.Contains(out, "(in "+ownMntns(t)+")") {
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
		if !strings.HasPrefix(strings.TrimSpace(l), "mount") || strings.Contains(l, "(in "+ownMntns(t)+")") {
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

func ownMntns(t *testing.T) string {
	ns, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	return ns
}
