package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A hands-on step verified from a second terminal, in both modes: the lab
// in one tmux window waits for lo to come up in its namespace; in another,
// `nslab shell` steps into the lab and `ip netns exec` does it there.
func TestAHandsOnStepDoneThroughNslabShell(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end in tmux")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("needs tmux (apt-get install tmux; .ci/run does)")
	}
	bin := learnerBin(t)
	t.Run("a learner's lab in a sandbox", func(t *testing.T) {
		l := newLearner(t, learner1, true)
		sock := filepath.Join(l.home, fmt.Sprintf(".nslab-test-tmux-%d", os.Getpid()))
		tm := func(args ...string) *exec.Cmd {
			c := l.command("/usr/bin/tmux", append([]string{"-S", sock}, args...)...)
			return c
		}
		t.Cleanup(func() { os.Remove(sock) })
		handsOn(t, tm, bin, func(int) string { return bin + " shell" })
	})
	t.Run("root's lab in host mode", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "tmux")
		tm := func(args ...string) *exec.Cmd { return exec.Command("tmux", append([]string{"-S", sock}, args...)...) }
		// Other labs of root may run on this machine: name this one.
		handsOn(t, tm, bin, func(labPID int) string { return fmt.Sprintf("%s shell %d", bin, labPID) })
	})
}

func handsOn(t *testing.T, tm func(...string) *exec.Cmd, bin string, shell func(labPID int) string) {
	t.Helper()
	run := func(args ...string) string {
		out, err := tm(args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	screen := func(win string) string {
		out, _ := tm("capture-pane", "-p", "-t", "lab:"+win).CombinedOutput()
		return string(out)
	}
	waitFor := func(win, want string) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); !strings.Contains(screen(win), want); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("window %s: waited for %q; it shows:\n%s", win, want, screen(win))
			}
		}
	}
	run("new-session", "-d", "-s", "lab", "-x", "120", "-y", "40", bin+" run hello; echo lab-exited=$?; sleep 60")
	t.Cleanup(func() { tm("kill-server").Run() })
	waitFor("0", "[enter] next step")
	run("send-keys", "-t", "lab:0", "Enter")
	waitFor("0", "waiting up to")
	panePID, _ := strconv.Atoi(strings.TrimSpace(run("display", "-p", "-t", "lab:0", "#{pane_pid}")))
	labPID, ok := childOf(panePID, bin)
	if !ok {
		t.Fatalf("no nslab under the pane's shell %d", panePID)
	}
	run("new-window", "-t", "lab:1", shell(labPID)+"; echo shell-exited=$?; sleep 60")
	waitFor("1", "nslab shell: ")
	run("send-keys", "-t", "lab:1", `ip netns list | grep -q "^$NS_demo\( \|$\)" && echo listed-by-ip; ip netns exec $NS_demo ip link set lo up && echo done-by-hand`, "Enter")
	waitFor("1", "done-by-hand")
	waitFor("0", "✓ link lo in demo is up")
	if scr := screen("1"); !strings.Contains(scr, "listed-by-ip") {
		t.Errorf("ip netns list in nslab shell does not list the lab's namespace ($NS_demo):\n%s", scr)
	}
	run("send-keys", "-t", "lab:0", "Enter")
	waitFor("0", "lab-exited=0")
	if !strings.Contains(screen("0"), "every check passed") {
		t.Errorf("the lesson did not pass:\n%s", screen("0"))
	}
}

// The terminal UI in a sandbox says so in its header, and its panels call
// the sandbox's namespaces the lab host.
func TestTheTUIInASandboxSaysSo(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end in tmux")
	}
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Fatal("needs tmux (apt-get install tmux; .ci/run does)")
	}
	l := newLearner(t, learner1, true)
	bin := learnerBin(t)
	os.RemoveAll(filepath.Join(l.home, ".local", "state", "nslab")) // no progress: step 1 first
	sock := filepath.Join(l.home, fmt.Sprintf(".nslab-test-tmux-tui-%d", os.Getpid()))
	tm := func(args ...string) *exec.Cmd { return l.command(tmux, append([]string{"-S", sock}, args...)...) }
	if out, err := tm("new-session", "-d", "-s", "lab", "-x", "200", "-y", "50", bin+" --open ns-basics; echo tui-exited=$?; sleep 60").CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v\n%s", err, out)
	}
	t.Cleanup(func() { tm("kill-server").Run(); os.Remove(sock) })
	screen := func() string { out, _ := tm("capture-pane", "-p", "-t", "lab").CombinedOutput(); return string(out) }
	waitFor := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); !strings.Contains(screen(), want); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waited for %q; the screen shows:\n%s", want, screen())
			}
		}
	}
	waitFor("▣ sandbox")
	waitFor("enter: run this step")
	tm("send-keys", "-t", "lab", "Enter").Run()
	waitFor("step 1 passed")
	waitFor("lab host")
	tm("send-keys", "-t", "lab", "q").Run()
	waitFor("tui-exited=0")
}
