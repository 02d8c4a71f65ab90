package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/lab"
)

// TestTUIInTmux is a learner's first run, at 80x24: the catalog starts
// with hello and says so; the lesson opens on its introduction; the first
// step asks a question; the second is done as a learner does it, reading
// the command from the lab tab and running it in a second tmux pane that
// o opened with it typed; the challenge is done from that pane too. Then
// q asks before quitting, and no nslab- namespace or link is left.
func TestTUIInTmux(t *testing.T) {
	s, runDir := tuiInTmux(t, buildForTmux(t, t.TempDir()), 80, 24, tuiShell())
	// Target the TUI's pane by its id: o splits the window, and the new
	// pane becomes the active one.
	tui := s.at(strings.TrimSpace(s.run("display-message", "-p", "-t", s.name, "#{pane_id}")))

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
	shell := s.at(panes[1])
	if panes[1] == tui.name {
		shell = s.at(panes[0])
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
	made := labJournal(t, runDir).Live
	if len(made) == 0 {
		t.Fatal("the running lesson's journal holds nothing")
	}
	tui.keys("q")
	tui.waitFor(`quit nslab\?`, 10*time.Second)
	tui.keys("y")
	tui.waitFor(`nslab-exited=0`, 30*time.Second)
	assertLabGone(t, made, runDir, "quitting")
}

// The TUI killed with -9 in the middle of a lesson cannot clean up. The
// next start says what the dead run left and, on "yes", removes exactly
// that.
func TestTUIKilledMidLessonIsCleanedAtTheNextStart(t *testing.T) {
	// A killed TUI leaves the terminal raw; an interactive shell would
	// restore it (here: stty sane) before the user starts nslab again.
	// The second start has no saved progress, so it opens at the catalog
	// rather than rebuilding the lesson under the same names.
	s, runDir := tuiInTmux(t, buildForTmux(t, t.TempDir()), 120, 40, func(bin, dir, runDir string) string {
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
	jf := labJournal(t, runDir)
	made, pid := jf.Live, jf.Session.PID
	if len(made) < 3 {
		t.Fatalf("the running lesson's journal holds %v, want 3 resources or more", made)
	}
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

// SIGTERM twice in a row (an impatient kill, a supervisor): bubbletea quits
// on the first and stops listening, so without a hold the second killed
// nslab in the middle of removing the lab.
func TestTUITerminatedTwiceStillRemovesTheLab(t *testing.T) {
	s, runDir := tuiInTmux(t, buildForTmux(t, t.TempDir()), 120, 40, tuiShell())
	s.waitFor(`type to filter`, 10*time.Second)
	s.keys("F4")
	s.waitFor(`lab ›`, 10*time.Second)
	tag := fmt.Sprintf("%04x", time.Now().UnixNano()&0xffff)
	for _, line := range []string{
		"netns add t2" + tag,
		"link add t2" + tag + " type veth peer eth0 netns t2" + tag,
		"spawn t2c" + tag + " net",
	} {
		// One at a time: the prompt takes the next command once the last
		// one has run.
		s.keys(line, "Enter")
		s.waitFor(`▶ lab › `+regexp.QuoteMeta(line), 20*time.Second)
		s.waitFor(`(?m)lab › type a command`, 20*time.Second)
	}
	s.waitFor(`t2c`+tag+` is pid`, 20*time.Second)
	jf := labJournal(t, runDir)
	made, pid := jf.Live, jf.Session.PID
	if len(made) != 4 {
		t.Fatalf("the free lab's journal holds %v, want 4 resources", made)
	}
	syscall.Kill(pid, syscall.SIGTERM)
	syscall.Kill(pid, syscall.SIGTERM)
	s.waitFor(`nslab-exited=\d+`, 20*time.Second)
	assertLabGone(t, made, runDir, "two SIGTERMs")
}
