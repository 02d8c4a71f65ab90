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
	return tuiInTmuxSized(t, tag, 120, 40, shell)
}

// tuiInTmuxSized is tuiInTmux at w x h.
func tuiInTmuxSized(t *testing.T, tag string, w, h int, shell func(bin, dir, runDir string) string) (s tmuxSession, bin, dir, runDir string) {
	t.Helper()
	dir = t.TempDir()
	bin = buildForTmux(t, dir)
	runDir = filepath.Join(dir, "run")
	s = tmuxSession{t: t, name: fmt.Sprintf("nslab-%s-%d", tag, os.Getpid())}
	s.run("new-session", "-d", "-s", s.name, "-x", strconv.Itoa(w), "-y", strconv.Itoa(h), shell(bin, dir, runDir))
	t.Cleanup(func() {
		exec.Command("tmux", "kill-session", "-t", s.name).Run()
		cmd := exec.Command(bin, "cleanup")
		cmd.Env = append(os.Environ(), "NSLAB_RUN_DIR="+runDir)
		cmd.Run()
	})
	return s, bin, dir, runDir
}

// TestTUIInTmux is a learner's first run, at 80x24: the catalog starts
// with hello and says so; the lesson opens on its introduction; the first
// step asks a question; the second is done as a learner does it, reading
// the command from the lab tab and running it in a second tmux pane that
// o opened with it typed; the challenge is done from that pane too. Then
// q asks before quitting, and no nslab- namespace or link is left.
func TestTUIInTmux(t *testing.T) {
	// A private journal directory: the test checks exactly what this run
	// made, while other packages' tests make namespaces of their own.
	s, _, _, runDir := tuiInTmuxSized(t, "e2e", 80, 24, func(bin, dir, runDir string) string {
		return fmt.Sprintf("XDG_STATE_HOME=%s NSLAB_RUN_DIR=%s %s; echo nslab-exited=$?; sleep 60", dir, runDir, bin)
	})
	// Target the TUI's pane by its id: o splits the window, and the new
	// pane becomes the active one.
	tui := tmuxSession{t: t, name: strings.TrimSpace(s.run("display-message", "-p", "-t", s.name, "#{pane_id}"))}

	m := tui.waitFor(`(?m)^  lesson .*\n.*namespaces of a process.*\n› ○ (.*)$`, 10*time.Second)
	if !strings.Contains(m[1], "Hello, namespace (hello)") || !strings.Contains(m[1], "start here") {
		t.Fatalf("the first lesson at 80x24 is %q, want hello marked start here:\n%s", m[1], tui.screen())
	}
	tui.keys("Enter")
	tui.waitFor(`Introduction · 4 steps`, 30*time.Second)
	tui.waitFor(`enter: begin step 1`, 30*time.Second)
	tui.keys("Enter")
	tui.waitFor(`predict before it runs`, 10*time.Second)
	tui.keys("2")
	tui.waitFor(`your guess: only a loopback`, 10*time.Second)
	tui.keys("Enter")
	tui.waitFor(`you guessed only a loopback`, 30*time.Second)
	tui.waitFor(`step 1 passed`, 30*time.Second)
	tui.keys("Enter")

	// Step 2: the command is on the lab tab; enter starts the wait, o
	// opens the second terminal with it typed, enter there runs it.
	m = tui.waitFor(`\$ (ip -n nslab[2-9]?-demo link set lo up)`, 10*time.Second)
	command := m[1]
	tui.keys("Enter")
	tui.waitFor(`waiting for you`, 10*time.Second)
	tui.keys("o")
	tui.waitFor(`second terminal is open below`, 10*time.Second)
	panes := strings.Fields(s.run("list-panes", "-t", s.name, "-F", "#{pane_id}"))
	if len(panes) != 2 {
		t.Fatalf("o did not split the window: panes %v", panes)
	}
	shell := tmuxSession{t: t, name: panes[1]}
	if panes[1] == tui.name {
		shell.name = panes[0]
	}
	shell.waitFor(`nslab shell: beside the lab of pid`, 20*time.Second)
	shell.waitFor(regexp.QuoteMeta(command), 10*time.Second)
	if !strings.Contains(tui.screen(), "waiting for you") {
		t.Fatalf("the step passed before the learner ran the command:\n%s", tui.screen())
	}
	shell.keys("Enter")
	tui.waitFor(`step 2 passed`, 30*time.Second)
	tui.keys("Enter")
	tui.waitFor(`Step 3/4`, 10*time.Second)
	tui.keys("Enter")
	tui.waitFor(`step 3 passed`, 30*time.Second)
	tui.keys("Enter")

	// The challenge: a hint, then the learner's own bash in the pane.
	tui.waitFor(`challenge`, 10*time.Second)
	tui.keys("h")
	tui.waitFor(`hint 1/2`, 10*time.Second)
	tui.keys("Enter")
	// The pane is in `nslab shell`, where $NS_demo names the namespace.
	shell.keys("ip netns exec $NS_demo bash -c 'echo hello > /dev/tcp/127.0.0.1/8080'", "Enter")
	tui.waitFor(`lesson complete`, 60*time.Second)
	if scr := tui.screen(); strings.Contains(scr, "✗") {
		t.Fatalf("a check failed:\n%s", scr)
	}
	jfs, err := lab.ReadJournals(runDir)
	if err != nil || len(jfs) != 1 || len(jfs[0].Live) == 0 {
		t.Fatalf("the running lesson's journal: %+v %v", jfs, err)
	}
	made := jfs[0].Live
	tui.keys("q")
	tui.waitFor(`quit nslab\?`, 10*time.Second)
	tui.keys("y")
	tui.waitFor(`nslab-exited=0`, 30*time.Second)
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
	s.waitFor(`enter: begin step 1`, 30*time.Second)
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
