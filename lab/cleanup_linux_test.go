package lab_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	labtest.ForeignNetns(t, foreign)

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
				if line == fmt.Sprintf("step %d", killAt) {
					break
				}
			}
			cmd.Process.Kill() // SIGKILL
			cmd.Wait()

			// The kernel drops the journal's lock when the last reference
			// to the file goes, which under load can be a moment after the
			// process is reaped (once, in make test, Cleanup found it still
			// held and rightly left the session alone). Wait for that, as
			// a user running nslab cleanup after kill -9 would.
			var jfs []lab.JournalFile
			labtest.Eventually(5*time.Second, func() bool {
				jfs, err = lab.ReadJournals(dir)
				return err != nil || len(jfs) != 1 || !jfs[0].Alive
			})
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

// A learner's "yes" to the start-up offer covers their own dead runs only.
func TestCleanupForOneLearnerLeavesOthersRuns(t *testing.T) {
	labtest.RequireRoot(t)
	dir := t.TempDir()
	sys := map[string]string{}
	for _, who := range []struct{ uid, name string }{{"4242", "me"}, {"4343", "th"}} {
		t.Setenv("SUDO_UID", who.uid)
		s, err := lab.NewSession(lab.Options{RunDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		name := labtest.Name(who.name)
		if _, err := s.AddNetns(name); err != nil {
			t.Fatal(err)
		}
		sys[who.name] = lab.SysName(name)
		s.Abandon() // as kill -9 leaves it
	}
	mine, theirs := sys["me"], sys["th"]
	t.Cleanup(func() { lab.Cleanup(dir) })
	if n, _ := lab.Leftovers(dir, 4242); n != 1 {
		t.Errorf("uid 4242 has %d dead runs, want 1", n)
	}
	rep, err := lab.CleanupFor(dir, 4242)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Removed) != 1 || !strings.Contains(rep.Removed[0], mine) {
		t.Errorf("removed %v, want only %s", rep.Removed, mine)
	}
	if _, err := os.Stat(filepath.Join(lab.NetnsDir, theirs)); err != nil {
		t.Errorf("another learner's dead run was touched: %v", err)
	}
}
