package lab_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

func init() { lab.RegisterInit("test-builder", topologyBuilder) }

// topologyBuilder is a child process that builds a topology step by step,
// printing "step N" after each, and then waits to be killed. The test kills
// it with SIGKILL at a chosen step: nothing of its own cleanup runs.
func topologyBuilder() {
	s, err := lab.NewSession(lab.Options{RunDir: os.Getenv("BUILDER_RUN_DIR")})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	tag := os.Getenv("BUILDER_TAG")
	steps := []func() error{
		func() error { _, err := s.AddNetns("k" + tag + "a"); return err },
		func() error { _, err := s.AddNetns("k" + tag + "b"); return err },
		func() error { return s.AddVeth("eth0", "k"+tag+"a", "eth0", "k"+tag+"b") },
		func() error { return s.AddBridge("k"+tag, "host") },
		func() error { return s.AddVeth("h"+tag, "host", "eth1", "k"+tag+"a") },
		func() error { return s.SetMaster("h"+tag, "k"+tag, "host") },
		func() error {
			_, err := s.Spawn(lab.SpawnOptions{Name: "c" + tag, Namespaces: []string{"net", "uts"}, Hostname: "c" + tag})
			return err
		},
		func() error { return s.AddVeth("p"+tag, "host", "eth0", "c"+tag) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("step", i+1)
	}
	fmt.Println("done")
	select {}
}

func TestKill9ThenCleanupLeavesNothing(t *testing.T) {
	labtest.RequireRoot(t)
	// A namespace that only looks like the lab's must survive every cleanup.
	foreign := "nslab-" + labtest.Name("keep")
	if out, err := exec.Command("ip", "netns", "add", foreign).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", foreign).Run()

	for _, killAt := range []int{1, 3, 5, 7, 8} {
		t.Run(fmt.Sprintf("killed after step %d", killAt), func(t *testing.T) {
			dir := t.TempDir()
			tag := labtest.Name("")
			cmd := lab.Reexec("test-builder", "builder")
			cmd.Env = append(cmd.Env, "BUILDER_RUN_DIR="+dir, "BUILDER_TAG="+tag)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				line := sc.Text()
				if strings.HasPrefix(line, "error") {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("builder: %s", line)
				}
				if n, _ := strconv.Atoi(strings.TrimPrefix(line, "step ")); n == killAt {
					break
				}
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()

			// The kernel drops the journal's lock when the last reference
			// to the file goes, which under load can be a moment after the
			// process is reaped (once, in make test, Cleanup found it still
			// held and rightly left the session alone). Wait for that, as
			// a user running nslab cleanup after kill -9 would.
			var jfs []lab.JournalFile
			for range 500 {
				if jfs, err = lab.ReadJournals(dir); err != nil || len(jfs) != 1 || !jfs[0].Alive {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err != nil || len(jfs) != 1 {
				t.Fatalf("journals after kill: %v %v", jfs, err)
			}
			if jfs[0].Alive {
				t.Fatal("the killed builder's journal is still locked 5 s after it was reaped")
			}
			recorded := jfs[0].Live
			if len(recorded) == 0 {
				t.Fatal("the journal of a killed session records nothing")
			}
			if still := lab.StillThere(recorded); len(still) == 0 {
				t.Fatal("nothing of the killed run is left: the test proves nothing")
			}

			rep, err := lab.Cleanup(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Failed) > 0 {
				t.Fatalf("cleanup failures: %v", rep.Failed)
			}
			if still := lab.StillThere(recorded); len(still) > 0 {
				t.Fatalf("left after cleanup: %v (report %+v)", still, rep)
			}
			if _, err := os.Stat(filepath.Join(lab.NetnsDir, foreign)); err != nil {
				t.Fatalf("cleanup removed %s, which it did not make", foreign)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "*.journal")); len(left) != 0 {
				t.Errorf("journal not removed after a complete cleanup: %v", left)
			}
			// A second cleanup finds nothing to do.
			if rep2, _ := lab.Cleanup(dir); !rep2.Empty() {
				t.Errorf("second cleanup did something: %+v", rep2)
			}
		})
	}
}

func TestCleanupLeavesARunningSessionAlone(t *testing.T) {
	labtest.RequireRoot(t)
	dir := t.TempDir()
	s, err := lab.NewSession(lab.Options{RunDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := labtest.Name("live")
	ns, err := s.AddNetns(a)
	if err != nil {
		t.Fatal(err)
	}
	ns.Close()
	rep, err := lab.Cleanup(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Live) != 1 || len(rep.Removed) != 0 {
		t.Fatalf("cleanup touched a running session: %+v", rep)
	}
	if _, err := os.Stat(filepath.Join(lab.NetnsDir, "nslab-"+a)); err != nil {
		t.Fatal("a running session's namespace was removed")
	}
}

func TestSpawnedChildGetsItsOwnNamespacesAndHostname(t *testing.T) {
	s := labtest.New(t)
	host, _ := os.Hostname()
	name := labtest.Name("c")
	p, err := s.Spawn(lab.SpawnOptions{Name: name, Namespaces: []string{"net", "uts", "ipc", "pid", "mnt"}, Hostname: "inside-" + name, MountProc: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"net", "uts", "ipc", "pid_for_children", "mnt"} {
		self, _ := os.Readlink("/proc/self/ns/" + typ)
		child, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", p.PID, typ))
		if err != nil {
			t.Fatal(err)
		}
		if typ == "pid_for_children" {
			child, _ = os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", p.PID))
			self, _ = os.Readlink("/proc/self/ns/pid")
		}
		if self == child {
			t.Errorf("%s namespace of the child is the host's (%s)", typ, child)
		}
	}
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(p.PID), "-u", "hostname").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "inside-"+name {
		t.Errorf("hostname inside = %q, want inside-%s", got, name)
	}
	if now, _ := os.Hostname(); now != host {
		t.Errorf("the host's hostname changed from %q to %q", host, now)
	}
	// PID 1 inside, and ps (reading the new /proc) sees only the child.
	out, _ = exec.Command("nsenter", "-t", strconv.Itoa(p.PID), "-p", "-m", "cat", "/proc/1/cmdline").Output()
	if !strings.HasPrefix(string(out), "nslab-init:") {
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
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/ns", p.PID)); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("child still there after Kill")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
