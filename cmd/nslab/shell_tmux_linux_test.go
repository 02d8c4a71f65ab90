package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// A hands-on step verified from a second terminal, in both modes: the lab
// in one tmux window waits for lo to come up in its namespace; in another,
// `nslab shell` steps into the lab and `ip netns exec` does it there.
func TestAHandsOnStepDoneThroughNslabShell(t *testing.T) {
	needTmux(t)
	bin := learnerBin(t)
	t.Run("a learner's lab in a sandbox", func(t *testing.T) {
		l := newLearner(t, learner1, true)
		sock := filepath.Join(l.home, fmt.Sprintf(".nslab-test-tmux-%d", os.Getpid()))
		handsOn(t, tmuxSession{t: t, name: "lab", sock: sock, as: &l}, bin, func(int) string { return bin + " shell" })
	})
	t.Run("root's lab in host mode", func(t *testing.T) {
		// Other labs of root may run on this machine: name this one.
		handsOn(t, tmuxSession{t: t, name: "lab", sock: filepath.Join(t.TempDir(), "tmux")}, bin, func(labPID int) string { return fmt.Sprintf("%s shell %d", bin, labPID) })
	})
}

func handsOn(t *testing.T, s tmuxSession, bin string, shell func(labPID int) string) {
	t.Helper()
	lab0, lab1 := s.at("lab:0"), s.at("lab:1")
	s.start(120, 40, bin+" run hello; echo lab-exited=$?; sleep 60")
	lab0.waitForText("your guess:") // step 1 asks first
	lab0.keys("2", "Enter")
	lab0.waitForText("[enter] next step")
	lab0.keys("Enter")
	lab0.waitForText("waiting up to")
	if scr := lab0.screen(); !strings.Contains(scr, "nslab shell") || !regexp.MustCompile(`ip -n nslab[2-9]?-demo link set lo up`).MatchString(scr) {
		t.Errorf("the hands-on step does not say to type its command in nslab shell:\n%s", scr)
	}
	panePID, _ := strconv.Atoi(strings.TrimSpace(s.run("display", "-p", "-t", "lab:0", "#{pane_pid}")))
	labPID, ok := childOf(panePID, bin)
	if !ok {
		t.Fatalf("no nslab under the pane's shell %d", panePID)
	}
	s.run("new-window", "-t", "lab:1", shell(labPID)+"; echo shell-exited=$?; sleep 60")
	lab1.waitForText("nslab shell: ")
	lab1.keys(`ip netns list | grep -q "^$NS_demo\( \|$\)" && echo listed-by-ip; ip netns exec $NS_demo ip link set lo up && echo done-by-hand`, "Enter")
	lab1.waitForText("done-by-hand")
	lab0.waitForText("✓ link lo in demo is up")
	if scr := lab1.screen(); !strings.Contains(scr, "listed-by-ip") {
		t.Errorf("ip netns list in nslab shell does not list the lab's namespace ($NS_demo):\n%s", scr)
	}
	// Step 3 runs; step 4, a challenge, waits for bytes sent into demo,
	// from the same second terminal.
	lab0.keys("Enter")
	lab0.waitForText("web listening on 127.0.0.1:8080 in demo")
	lab0.keys("Enter")
	lab0.waitForText("challenge: the goal is above")
	lab1.keys(`ip netns exec $NS_demo bash -c 'echo hello > /dev/tcp/127.0.0.1/8080' && echo knocked`, "Enter")
	lab1.waitForText("knocked")
	lab0.waitForText("lab-exited=0")
	if !strings.Contains(lab0.screen(), "every check passed") {
		t.Errorf("the lesson did not pass:\n%s", lab0.screen())
	}
}

// The terminal UI in a sandbox says so in its header, and its panels call
// the sandbox's namespaces the lab host.
func TestTheTUIInASandboxSaysSo(t *testing.T) {
	needTmux(t)
	l := newLearner(t, learner1, true)
	bin := learnerBin(t)
	os.RemoveAll(filepath.Join(l.home, ".local", "state", "nslab")) // no progress: step 1 first
	s := tmuxSession{t: t, name: "lab", sock: filepath.Join(l.home, fmt.Sprintf(".nslab-test-tmux-tui-%d", os.Getpid())), as: &l}
	s.start(200, 50, bin+" --open ns-basics; echo tui-exited=$?; sleep 60")
	s.waitForText("▣ sandbox")
	s.waitForText("enter: begin step 1") // the introduction first
	s.keys("Enter")
	s.waitForText("enter: run this step")
	s.keys("Enter")
	s.waitForText("step 1 passed")
	s.waitForText("lab host")
	s.keys("q")
	s.waitForText("quit nslab?") // in a lesson, q asks first
	s.keys("y")
	s.waitForText("tui-exited=0")
}
