package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
)

// tmuxSession drives the real binary in a detached tmux session, the way a
// learner's keyboard and eyes would.
type tmuxSession struct {
	t    *testing.T
	name string   // the target: a session, a window (lab:1) or a pane (%3)
	sock string   // the test's own tmux server (tmux -S)
	as   *learner // tmux runs as this learner; nil: as root
	// joined: the screen with the lines the terminal wrapped joined
	// (capture-pane -J), for a shell's long lines.
	joined bool
}

// tmux runs tmux on the session's server.
func (s tmuxSession) tmux(args ...string) *exec.Cmd {
	args = append([]string{"-S", s.sock}, args...)
	if s.as != nil {
		return s.as.command("/usr/bin/tmux", args...)
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

// at is the same server, targeting another window or pane.
func (s tmuxSession) at(target string) tmuxSession {
	s.name = target
	return s
}

// start opens the session, w x h, running shell; however the test ends,
// the server goes.
func (s tmuxSession) start(w, h int, shell string) {
	s.t.Helper()
	s.run("new-session", "-d", "-s", s.name, "-x", strconv.Itoa(w), "-y", strconv.Itoa(h), shell)
	s.t.Cleanup(func() { s.tmux("kill-server").Run(); os.Remove(s.sock) })
}

func (s tmuxSession) keys(keys ...string) {
	s.t.Helper()
	s.run(append([]string{"send-keys", "-t", s.name}, keys...)...)
}

func (s tmuxSession) screen() string {
	args := []string{"capture-pane", "-p", "-t", s.name}
	if s.joined {
		args = append(args, "-J")
	}
	out, _ := s.tmux(args...).CombinedOutput()
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

// waitForText waits up to a minute until the screen shows text.
func (s tmuxSession) waitForText(text string) {
	s.t.Helper()
	s.waitFor(regexp.QuoteMeta(text), time.Minute)
}

// needTmux gates an end-to-end test: root, not -short, and tmux
// installed (.ci/run installs it: a missing tmux fails).
func needTmux(t *testing.T) {
	t.Helper()
	labtest.Long(t, "end-to-end: drives the binary in tmux")
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("needs tmux (apt-get install tmux; .ci/run does)")
	}
}

// buildForTmux gates an end-to-end test (needTmux) and builds nslab into
// dir/bin.
func buildForTmux(t *testing.T, dir string) string {
	t.Helper()
	needTmux(t)
	bin := filepath.Join(dir, "bin", "nslab")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// tuiInTmux starts shell(bin, dir, runDir) in a w x h session "lab" on a tmux
// server of the test's own, with a private journal directory: the test
// checks exactly what this run made, while other packages' tests make
// namespaces of their own. However the test ends, the server goes, and so
// does what the TUI made, before that directory is removed.
func tuiInTmux(t *testing.T, bin string, w, h int, shell func(bin, dir, runDir string) string) (s tmuxSession, runDir string) {
	t.Helper()
	dir := t.TempDir()
	runDir = filepath.Join(dir, "run")
	t.Cleanup(func() {
		cmd := exec.Command(bin, "cleanup")
		cmd.Env = append(os.Environ(), "NSLAB_RUN_DIR="+runDir)
		cmd.Run()
	})
	s = tmuxSession{t: t, name: "lab", sock: filepath.Join(dir, "tmux")}
	s.start(w, h, shell(bin, dir, runDir))
	return s, runDir
}

// tuiShell is the shell line that runs the TUI with args on the test's
// own state and journal directories, then says how it exited.
func tuiShell(args ...string) func(bin, dir, runDir string) string {
	return func(bin, dir, runDir string) string {
		return fmt.Sprintf("XDG_STATE_HOME=%s NSLAB_RUN_DIR=%s %s; echo nslab-exited=$?; sleep 600", dir, runDir, strings.Join(append([]string{bin}, args...), " "))
	}
}
