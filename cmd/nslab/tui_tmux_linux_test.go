package main

import (
	"fmt"
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

// TestThreadSavingsOnScreen runs thread-savings to the end in the real TUI,
// at a projector's 120x40 and a terminal's 80x24, and reads the lesson's
// claim off the screen: every strategy with its process tree's threads and
// PSS, and the results table in the order the lesson teaches. The figures
// the panel shows are held against /proc.
func TestThreadSavingsOnScreen(t *testing.T) {
	bin := buildForTmux(t, t.TempDir())
	for _, sz := range []struct{ w, h int }{{120, 40}, {80, 24}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) { savingsAt(t, bin, sz.w, sz.h) })
	}
}

func savingsAt(t *testing.T, bin string, w, h int) {
	s, _ := tuiInTmux(t, bin, w, h, tuiShell("--open", "thread-savings"))
	narrow := w < 120
	// panels shows every page of panels and returns them together (on a
	// wide screen, the one beside the lesson), then comes back.
	panels := func() string {
		if !narrow {
			return s.screen()
		}
		// v pages through the panels and back to the lesson.
		var all strings.Builder
		for range 5 {
			s.keys("v")
			time.Sleep(300 * time.Millisecond)
			scr := s.screen()
			if regexp.MustCompile(`Step \d/7`).MatchString(scr) {
				return all.String()
			}
			all.WriteString(scr)
		}
		t.Fatalf("v did not come back to the lesson:\n%s", s.screen())
		return ""
	}
	const steps = 7
	s.waitFor(fmt.Sprintf(`Introduction · %d steps`, steps), 60*time.Second)
	s.keys("Enter")
	var fifty, prefix string
	for i := 1; i <= steps; i++ {
		s.waitFor(fmt.Sprintf(`Step %d/%d`, i, steps), 60*time.Second)
		if m := s.waitFor(`predict before it runs|enter: run this step|enter: the lab watches for it|challenge`, 60*time.Second); m[0] == "predict before it runs" {
			s.keys("s") // the question passed by: this test reads the panels
		}
		switch i {
		case 5: // your turn: the learner's connection, from inside ts1
			s.keys("Enter")
			s.waitFor(`waiting for you`, 60*time.Second)
			// The lab tab shows the line with the system's names: nslab-,
			// or the next free prefix while other labs run.
			prefix = s.waitFor(`\$ .*ip netns exec (nslab[2-9]?-)ts1 `, 30*time.Second)[1]
			asLearner(t, "ip netns exec "+prefix+"ts1 bash -c 'echo via-threads > /dev/tcp/127.0.0.1/81'")
		case 6: // the challenge, done as its solution says
			asLearner(t, "ip -n "+prefix+"ts57 link set lo up && ip netns exec "+prefix+"ts57 bash -c 'echo from-ts57 > /dev/tcp/127.0.0.1/80'")
			s.keys("Enter") // the lab watches: what svc received already counts
		default:
			s.keys("Enter")
		}
		s.waitFor(fmt.Sprintf(`step %d passed|lesson complete|✗`, i), 180*time.Second)
		if scr := s.screen(); strings.Contains(scr, "✗") {
			t.Fatalf("step %d: a command or check failed:\n%s", i, scr)
		}
		if i == 3 {
			time.Sleep(2 * time.Second) // a refresh after the step's last command
			fifty = panels()
		}
		if i < steps {
			s.keys("Enter")
		}
	}
	time.Sleep(2 * time.Second)
	end := panels()

	// At fifty tenants and at the end, all three strategies are on the
	// panel, each counted as its process tree: process-per-namespace is
	// 51 processes, with threads and PSS to match.
	row := regexp.MustCompile(`(tss|tst|tsp) (\d+)\s+(\d+)\s+(\d+)\s+[▏▎▍▌▋▊▉█]*\s*([\d.]+) (MB|kB|GB)`)
	for name, scr := range map[string]string{"at fifty tenants": fifty, "at the end": end} {
		got := map[string][]string{}
		for _, m := range row.FindAllStringSubmatch(scr, -1) {
			got[m[1]] = m
		}
		if len(got) != 3 {
			t.Errorf("%s: the panel shows %d of the three strategies:\n%s", name, len(got), scr)
			continue
		}
		procs, _ := strconv.Atoi(got["tsp"][3])
		tspThreads, _ := strconv.Atoi(got["tsp"][4])
		tssThreads, _ := strconv.Atoi(got["tss"][4])
		if procs != 51 || tspThreads < 51*2 || tssThreads > 12 {
			t.Errorf("%s: tsp %s processes and %d threads, tss %d threads:\n%s", name, got["tsp"][3], tspThreads, tssThreads, scr)
		}
		if name == "at the end" {
			// The panel's tree against /proc, by hand.
			pid, _ := strconv.Atoi(got["tsp"][2])
			h := labtest.TreeByHand(pid)
			if h.Procs != 51 || abs(h.Threads-tspThreads) > 8 {
				t.Errorf("tsp %d: the panel says %d processes, %d threads; /proc says %d, %d", pid, procs, tspThreads, h.Procs, h.Threads)
			}
			pss, _ := strconv.ParseFloat(got["tsp"][5], 64)
			if mb := float64(h.PSS) / (1 << 20); got["tsp"][6] != "MB" || pss < mb*0.9 || pss > mb*1.1 {
				t.Errorf("tsp %d: the panel says PSS %s %s, smaps_rollup adds up to %.1f MB", pid, got["tsp"][5], got["tsp"][6], mb)
			}
		}
	}
	// The results table, with the ordering: threads per tenant shared ≪
	// thread-per-namespace ≪ process-per-namespace, and process per
	// namespace the largest PSS.
	for _, re := range []string{`tss\s+shared\s+300\s+1\s`, `tst\s+(thread-per-namespace|thr/ns)\s+300\s+1\s`, `tsp\s+(process-per-namespace|proc/ns)\s+50\s+51\s`} {
		if !regexp.MustCompile(re).MatchString(end) {
			t.Errorf("the results table lacks /%s/:\n%s", re, end)
		}
	}
	flat := strings.Join(strings.Fields(strings.NewReplacer("│", " ", "┃", " ").Replace(end)), " ")
	m := regexp.MustCompile(`per tenant: threads tss ([\d.]+) · tst ([\d.]+) · tsp ([\d.]+); PSS tss ([\d.]+) (kB|MB) · tst ([\d.]+) (kB|MB) · tsp ([\d.]+) (kB|MB)`).FindStringSubmatch(flat)
	if m == nil {
		t.Fatalf("no per-tenant line in the results:\n%s", end)
	}
	f := func(i int) float64 { v, _ := strconv.ParseFloat(m[i], 64); return v }
	kb := func(i, unit int) float64 {
		if m[unit] == "MB" {
			return f(i) * 1024
		}
		return f(i)
	}
	if !(f(1)*2 <= f(2) && f(2)*2 <= f(3)) {
		t.Errorf("threads per tenant %s ≪ %s ≪ %s does not hold on screen", m[1], m[2], m[3])
	}
	if tsp := kb(8, 9); tsp <= kb(4, 5) || tsp <= kb(6, 7) {
		t.Errorf("PSS per tenant: tsp %s %s is not the largest (tss %s %s, tst %s %s)", m[8], m[9], m[4], m[5], m[6], m[7])
	}
	s.keys("q")
	s.waitFor(`quit nslab\?`, 10*time.Second) // a lesson asks first
	s.keys("y")
	s.waitFor(`nslab-exited=0`, 60*time.Second)
}

// asLearner runs a learner's shell command (as root, beside the lab).
func asLearner(t *testing.T, command string) {
	t.Helper()
	if out, err := exec.Command("bash", "-c", command).CombinedOutput(); err != nil {
		t.Fatalf("the learner's %s: %v\n%s", command, err, out)
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
