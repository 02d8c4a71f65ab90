package lab_test

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

// A setup registered at init, as lab/script registers its switch demo: it
// runs in the child and reports the child's PID, which the parent must see
// as Proc.Note.
func init() {
	lab.RegisterChildSetup("test-pid", func(arg string) (string, error) {
		return arg + " " + strconv.Itoa(os.Getpid()), nil
	})
}

func TestSpawnedChildGetsItsOwnNamespacesAndHostname(t *testing.T) {
	s := labtest.New(t)
	host, _ := os.Hostname()
	name := labtest.Name("c")
	p, err := s.Spawn(lab.SpawnOptions{Name: name, Namespaces: []string{"net", "uts", "ipc", "pid", "mnt"}, Hostname: "inside-" + name, MountProc: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"net", "uts", "ipc", "pid", "mnt"} {
		if self, child := labtest.NsIno(t, os.Getpid(), typ), labtest.NsIno(t, p.PID, typ); self == child {
			t.Errorf("%s namespace of the child is the host's (%d)", typ, child)
		}
	}
	if got := labtest.Nsenter(t, p.PID, []string{"-u"}, "hostname"); got != "inside-"+name {
		t.Errorf("hostname inside = %q, want inside-%s", got, name)
	}
	if now, _ := os.Hostname(); now != host {
		t.Errorf("the host's hostname changed from %q to %q", host, now)
	}
	// PID 1 inside, and ps (reading the new /proc) sees only the child.
	if out := labtest.Nsenter(t, p.PID, []string{"-p", "-m"}, "cat", "/proc/1/cmdline"); !strings.HasPrefix(out, "nslab-init:") {
		t.Errorf("PID 1 inside is %q, want the nslab init", out)
	}
	// A veth end can be moved into the child by its name.
	must(t, s.AddVeth(labtest.Name("v"), "host", "eth0", name))
	links, err := s.Links(name)
	must(t, err)
	if len(links) != 2 || links[1].Name != "eth0" {
		t.Errorf("links in the child = %+v, want lo and eth0", links)
	}
	must(t, s.Kill(name))
	if !labtest.Eventually(2*time.Second, func() bool {
		_, err := os.Stat(fmt.Sprintf("/proc/%d/ns", p.PID))
		return err != nil
	}) {
		t.Fatal("child still there after Kill")
	}
}

func TestASpawnedChildRunsItsSetupInside(t *testing.T) {
	s := labtest.New(t)
	p, err := s.Spawn(lab.SpawnOptions{Name: "setup", Namespaces: []string{"pid"}, Setup: &lab.ChildSetup{Name: "test-pid", Arg: "pid"}})
	if err != nil {
		t.Fatal(err)
	}
	// In its own PID namespace the child is PID 1.
	if p.Note != "pid 1" {
		t.Errorf("note %q, want %q", p.Note, "pid 1")
	}
	_, err = s.Spawn(lab.SpawnOptions{Name: "nosetup", Setup: &lab.ChildSetup{Name: "nosuch"}})
	if !errors.Is(err, lab.ErrInvalid) {
		t.Errorf("a setup nobody registered: %v, want ErrInvalid", err)
	}
}
