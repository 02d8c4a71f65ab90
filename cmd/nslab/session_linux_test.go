package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

// withSession closes the lab however fn ends: an error, a panic, or a
// signal (which cancels fn's context).
func TestWithSessionClosesTheLabHoweverItEnds(t *testing.T) {
	labtest.RequireRoot(t)
	t.Setenv("NSLAB_RUN_DIR", t.TempDir())
	failed := errors.New("a step failed")
	for _, tt := range []struct {
		name string
		end  func(ctx context.Context) error
	}{
		{"an error", func(context.Context) error { return failed }},
		{"a panic", func(context.Context) error { panic("boom") }},
		{"SIGINT", signalled(syscall.SIGINT)},
		{"SIGTERM", signalled(syscall.SIGTERM)},
		{"SIGHUP", signalled(syscall.SIGHUP)},
	} {
		t.Run("on "+tt.name, func(t *testing.T) {
			var made []lab.Entry
			var journal string
			func() {
				defer func() { recover() }()
				withSession(context.Background(), io.Discard, false, func(ctx context.Context, s *lab.Session) error {
					journal = s.JournalPath()
					if _, err := s.AddNetns(labtest.Name("ws")); err != nil {
						return err
					}
					if err := s.AddBridge(labtest.Name("wb"), "host"); err != nil {
						return err
					}
					made = s.Owned()
					return tt.end(ctx)
				})
			}()
			if len(made) != 2 {
				t.Fatalf("the session made %v", made)
			}
			if left := lab.StillThere(made); len(left) > 0 {
				t.Errorf("left after %s: %v", tt.name, left)
			}
			if _, err := os.Stat(journal); !os.IsNotExist(err) {
				t.Errorf("journal still there after %s: %v", tt.name, err)
			}
		})
	}
}

// signalled sends sig to this process and waits for withSession to cancel
// the context, as a run waiting between steps does.
func signalled(sig syscall.Signal) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		syscall.Kill(os.Getpid(), sig)
		select {
		case <-ctx.Done():
			return errors.New("interrupted")
		case <-time.After(5 * time.Second):
			return fmt.Errorf("%v did not cancel the run", sig)
		}
	}
}

// The real binary, paused between steps, is stopped by a signal (once, or
// twice in a row): nothing it made is left, nor its journal.
func TestARunStoppedByASignalLeavesNothing(t *testing.T) {
	labtest.RequireRoot(t)
	for _, tt := range []struct {
		name string
		sigs []syscall.Signal
	}{
		{"Ctrl-C", []syscall.Signal{syscall.SIGINT}},
		{"SIGTERM", []syscall.Signal{syscall.SIGTERM}},
		{"SIGHUP (the terminal went away)", []syscall.Signal{syscall.SIGHUP}},
		{"Ctrl-C twice", []syscall.Signal{syscall.SIGINT, syscall.SIGINT}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tag := labtest.Name("s")[1:]
			file := scenarioFile(t, dir, "sig-"+tag, "", fmt.Sprintf(`## Build
`+"```lab"+`
netns add %[1]sa
link add %[1]s type bridge
link add h%[1]s type veth peer eth0 netns %[1]sa
`+"```"+`
`+"```check"+`
expect netns %[1]sa exists
`+"```"+`
## Later
`+"```lab"+`
netns add %[1]sb
`+"```"+`
`+"```check"+`
expect netns %[1]sb exists
`+"```"+`
`, tag))
			runDir := filepath.Join(dir, "run")
			run := startAttended(t, []string{"NSLAB_RUN_DIR=" + runDir}, "run", file)
			run.waitFor("[enter] next step", 30*time.Second)
			made := labJournal(t, runDir).Live
			if len(made) != 4 {
				t.Fatalf("the paused run's journal holds %v, want 4 resources", made)
			}
			for _, sig := range tt.sigs {
				run.cmd.Process.Signal(sig)
			}
			run.wait()
			assertLabGone(t, made, runDir, tt.name)
		})
	}
}

// crashScenario builds a topology with every kind of resource: namespaces,
// a host bridge, veth pairs, a spawned child, addresses, sockets.
func crashScenario(tag string) string {
	return fmt.Sprintf(`## Build
`+"```lab"+`
netns add %[1]sa
netns add %[1]sb
link add %[1]s type bridge
link set %[1]s up
link add ha%[1]s type veth peer eth0 netns %[1]sa
link set ha%[1]s master %[1]s
link add hb%[1]s type veth peer eth0 netns %[1]sb
link set hb%[1]s master %[1]s
addr add 10.77.0.1/24 dev eth0 -n %[1]sa
addr add 10.77.0.2/24 dev eth0 -n %[1]sb
link set eth0 up -n %[1]sa
link set eth0 up -n %[1]sb
link set ha%[1]s up
link set hb%[1]s up
spawn c%[1]s net,uts,pid,mnt hostname c
link add hc%[1]s type veth peer eth0 netns c%[1]s
link set lo up -n %[1]sa
listen tcp 127.0.0.1:80 -n %[1]sa as web
ping 10.77.0.2 -n %[1]sa -c 1
exec -n %[1]sa -- ip -br addr
`+"```"+`
`+"```check"+`
expect ping 10.77.0.2 -n %[1]sa ok
`+"```"+`
`, tag)
}

// A run killed with -9 after each of its first 20 commands cannot clean
// up; nslab cleanup then removes exactly what its journal says it made.
func TestKill9AtTwentyPointsThenCleanup(t *testing.T) {
	labtest.Long(t, "20 runs of a scenario, each killed")
	// A look-alike that no journal records must survive all of it.
	foreign := "nslab-" + labtest.Name("keep")
	labtest.ForeignNetns(t, foreign)

	survived := 0
	for point := 1; point <= 20; point++ {
		dir := t.TempDir()
		tag := labtest.Name("k")[1:]
		file := scenarioFile(t, dir, "crash-"+tag, "", crashScenario(tag))
		env := []string{"NSLAB_RUN_DIR=" + filepath.Join(dir, "run")}
		run := startAttended(t, env, "run", file, "--yes")
		// Each "  $ command" line is printed after the command ran: kill
		// after the point-th one.
		for range point {
			run.waitFor("\n  $ ", time.Minute)
		}
		run.cmd.Process.Signal(syscall.SIGKILL)
		run.wait()

		made := labJournal(t, filepath.Join(dir, "run")).Live
		if len(lab.StillThere(made)) == 0 {
			t.Fatalf("point %d: the killed run left nothing standing: the point proves nothing", point)
		}
		if _, stderr, code := nslabIn(t, env, "", "cleanup"); code != 0 {
			t.Fatalf("point %d: nslab cleanup: exit %d\n%s", point, code, stderr)
		}
		if left := lab.StillThere(made); len(left) > 0 {
			t.Fatalf("point %d: left after nslab cleanup: %v", point, left)
		}
		if _, err := os.Stat(filepath.Join(lab.NetnsDir, foreign)); err != nil {
			t.Fatalf("point %d: cleanup removed %s, which nslab did not make", point, foreign)
		}
		survived++
	}
	t.Logf("%d kill -9 points, each cleaned up with nothing left", survived)
}
