package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

// tmuxSession drives the real binary in a detached tmux session, the way a
// learner's keyboard and eyes would.
type tmuxSession struct {
	t    *testing.T
	name string
	sock string // a tmux server of its own (tmux -L), if set
}

// tmux runs tmux on the session's server.
func (s tmuxSession) tmux(args ...string) *exec.Cmd {
	if s.sock != "" {
		args = append([]string{"-L", s.sock}, args...)
	}
	return exec.Command("tmux", args...)
}

func (s tmuxSession) run(args ...string) string {
	s.t.Helper()
	out, err := s.tmux(args...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (s tmuxSession) keys(keys ...string) {
	s.t.Helper()
	s.run(append([]string{"send-keys", "-t", s.name}, keys...)...)
}

func (s tmuxSession) screen() string {
	out, _ := s.tmux("capture-pane", "-p", "-t", s.name).CombinedOutput()
	return string(out)
}

// waitFor waits until the screen matches re, and returns the match.
func (s tmuxSession) waitFor(re string, d time.Duration) []string {
	s.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(d)
	for {
		scr := s.screen()
		if m := rx.FindStringSubmatch(scr); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waited %s for /%s/; the screen shows:\n%s", d, re, scr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// buildForTmux gates an end-to-end test (root, not -short, tmux present;
// under NSLAB_REQUIRE_ROOT=1 a missing tmux fails) and builds nslab into
// dir/bin.
func buildForTmux(t *testing.T, dir string) string {
	t.Helper()
	labtest.RequireRoot(t)
	if testing.Short() {
		t.Skip("end-to-end: builds the binary and drives the TUI")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("NSLAB_REQUIRE_ROOT") == "1" {
			t.Fatal("NSLAB_REQUIRE_ROOT=1 (CI) but tmux is missing: the end-to-end TUI test cannot run (apt-get install tmux)")
		}
		t.Skip("needs tmux")
	}
	bin := filepath.Join(dir, "bin", "nslab")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// tuiInTmux builds nslab and starts shell(bin, runDir) in a 120x40 tmux
// session with a private journal directory. However the test ends, the
// session goes, and so does what the TUI made, before that directory is
// removed.
func tuiInTmux(t *testing.T, tag string, shell func(bin, dir, runDir string) string) (s tmuxSession, bin, dir, runDir string) {
	t.Helper()
	dir = t.TempDir()
	bin = buildForTmux(t, dir)
	runDir = filepath.Join(dir, "run")
	s = tmuxSession{t: t, name: fmt.Sprintf("nslab-%s-%d", tag, os.Getpid())}
	s.run("new-session", "-d", "-s", s.name, "-x", "120", "-y", "40", shell(bin, dir, runDir))
	t.Cleanup(func() {
		exec.Command("tmux", "kill-session", "-t", s.name).Run()
		cmd := exec.Command(bin, "cleanup")
		cmd.Env = append(os.Environ(), "NSLAB_RUN_DIR="+runDir)
		cmd.Run()
	})
	return s, bin, dir, runDir
}

// TestTUIInTmux starts nslab in tmux, opens the veth scenario, runs every
// step with the keyboard, sees every check pass, quits, and finds no
// nslab- namespace or link left on the host.
func TestTUIInTmux(t *testing.T) {
	// A private journal directory: the test checks exactly what this run
	// made, while other packages' tests make namespaces of their own.
	s, _, _, runDir := tuiInTmux(t, "e2e", func(bin, dir, runDir string) string {
		return fmt.Sprintf("XDG_STATE_HOME=%s NSLAB_RUN_DIR=%s %s; echo nslab-exited=$?; sleep 60", dir, runDir, bin)
	})

	s.waitFor(`type to filter`, 10*time.Second)
	s.keys("v", "e", "t", "h")
	s.waitFor(`› \S+ .*\(veth\)`, 5*time.Second)
	s.keys("Enter")
	m := s.waitFor(`Step 1/(\d+)`, 30*time.Second)
	steps, _ := strconv.Atoi(m[1])
	for i := 1; i <= steps; i++ {
		s.waitFor(fmt.Sprintf(`Step %d/%d`, i, steps), 30*time.Second)
		s.waitFor(`enter: run this step`, 30*time.Second)
		s.keys("Enter")
		if i < steps {
			s.waitFor(fmt.Sprintf(`step %d passed|✗`, i), 90*time.Second)
		} else {
			s.waitFor(`lesson complete|✗`, 90*time.Second)
		}
		if scr := s.screen(); strings.Contains(scr, "✗") {
			t.Fatalf("step %d: a command or check failed:\n%s", i, scr)
		}
		if i < steps {
			s.keys("Enter")
		}
	}
	jfs, err := lab.ReadJournals(runDir)
	if err != nil || len(jfs) != 1 || len(jfs[0].Live) == 0 {
		t.Fatalf("the running lesson's journal: %+v %v", jfs, err)
	}
	made := jfs[0].Live
	s.keys("q")
	s.waitFor(`nslab-exited=0`, 30*time.Second)
	if left := lab.StillThere(made); len(left) > 0 {
		t.Errorf("left behind after quitting: %v", left)
	}
	if jfs, _ := lab.ReadJournals(runDir); len(jfs) != 0 {
		t.Errorf("the journal was not removed after a clean exit: %+v", jfs)
	}
}

// The TUI killed with -9 in the middle of a lesson cannot clean up. The
// next start says what the dead run left and, on "yes", removes exactly
// that.
func TestTUIKilledMidLessonIsCleanedAtTheNextStart(t *testing.T) {
	// A killed TUI leaves the terminal raw; an interactive shell would
	// restore it (here: stty sane) before the user starts nslab again.
	// The second start has no saved progress, so it opens at the catalog
	// rather than rebuilding the lesson under the same names.
	s, _, _, runDir := tuiInTmux(t, "kill", func(bin, dir, runDir string) string {
		env := fmt.Sprintf("XDG_STATE_HOME=%s NSLAB_RUN_DIR=%s", filepath.Join(dir, "state1"), runDir)
		env2 := fmt.Sprintf("XDG_STATE_HOME=%s NSLAB_RUN_DIR=%s", filepath.Join(dir, "state2"), runDir)
		return fmt.Sprintf("%s %s; echo nslab-exited=$?; stty sane; %s %s; echo nslab-exited-again=$?; sleep 60", env, bin, env2, bin)
	})

	s.waitFor(`type to filter`, 10*time.Second)
	s.keys("v", "e", "t", "h")
	s.waitFor(`› \S+ .*\(veth\)`, 5*time.Second)
	s.keys("Enter")
	for i := 1; i <= 2; i++ { // a child in its namespace, then the veth pair
		s.waitFor(`enter: run this step`, 30*time.Second)
		s.keys("Enter")
		s.waitFor(fmt.Sprintf(`step %d passed|✗`, i), 60*time.Second)
		s.keys("Enter")
	}
	jfs, err := lab.ReadJournals(runDir)
	if err != nil || len(jfs) != 1 || len(jfs[0].Live) < 3 {
		t.Fatalf("the running lesson's journal: %+v %v", jfs, err)
	}
	made := jfs[0].Live
	pid := jfs[0].Session.PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s.waitFor(`nslab-exited=137`, 10*time.Second)
	if left := lab.StillThere(made); len(left) == 0 {
		t.Fatal("kill -9 left nothing behind: the test proves nothing")
	}
	s.waitFor(`Remove them now`, 10*time.Second)
	s.keys("Enter")
	s.waitFor(`type to filter`, 20*time.Second)
	if left := lab.StillThere(made); len(left) > 0 {
		t.Errorf("left behind after the offered cleanup: %v", left)
	}
	s.keys("q")
	s.waitFor(`nslab-exited-again=0`, 20*time.Second)
}
