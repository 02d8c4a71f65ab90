package main

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
)

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
