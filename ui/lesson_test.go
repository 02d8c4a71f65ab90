package ui

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/ui/panels"
)

// openVeth opens the veth lesson, leaves its introduction and answers
// its first step's question.
func openVeth(t *testing.T, m *App) {
	t.Helper()
	press(t, m, keyEnter, keyEnter, keyText("n"))
}

func TestLesson(t *testing.T) {
	t.Run("a failed command shows its error under a caret and retry runs from it", func(t *testing.T) {
		m, lab := newTestApp(t, 80, 24, Options{})
		lab.failOnce = map[string]bool{"netns add beta": true}
		openVeth(t, m)
		press(t, m, keyEnter)
		scr := plain(m)
		for _, want := range []string{"✓ netns add alpha", "✗ netns add beta", "      ^", "already exists", "r retry, s skip"} {
			if !strings.Contains(scr, want) {
				t.Errorf("screen lacks %q:\n%s", want, scr)
			}
		}
		press(t, m, keyText("r"))
		if got := lab.ran; !slices.Equal(got, []string{"netns add alpha", "netns add beta", "netns add beta"}) {
			t.Errorf("ran %q, want alpha once and beta twice", got)
		}
		if !m.lesson.states[0].passed {
			t.Errorf("step not passed after retry:\n%s", plain(m))
		}
	})
	t.Run("skip marks the failed command and runs the rest", func(t *testing.T) {
		m, lab := newTestApp(t, 80, 24, Options{})
		lab.failOnce = map[string]bool{"netns add alpha": true}
		openVeth(t, m)
		press(t, m, keyEnter, keyText("s"))
		s := m.lesson.states[0]
		if s.cmds[0].st != stSkipped || s.cmds[1].st != stOK || !s.passed {
			t.Errorf("after skip: %+v", s)
		}
	})
	t.Run("jumping to a step rebuilds the state before it with the runner", func(t *testing.T) {
		m, lab := newTestApp(t, 80, 24, Options{})
		openVeth(t, m)
		press(t, m, keyText("3"))
		if got := lab.prepared; !slices.Equal(got, []int{0, 2}) {
			t.Errorf("Prepare calls %v, want [0 2]", got)
		}
		if !strings.Contains(plain(m), "Step 3/3 · Ping") {
			t.Errorf("not on step 3:\n%s", plain(m))
		}
	})
	t.Run("next after a passed step goes on without rebuilding", func(t *testing.T) {
		m, lab := newTestApp(t, 80, 24, Options{})
		openVeth(t, m)
		press(t, m, keyEnter, keyText("n"))
		if m.lesson.step != 1 || len(lab.prepared) != 1 {
			t.Errorf("step %d, Prepare calls %v", m.lesson.step, lab.prepared)
		}
	})
	t.Run("a lesson resumes at the saved step", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nslab", "progress.json")
		os.MkdirAll(filepath.Dir(path), 0o755)
		os.WriteFile(path, []byte(`{"scenarios":{"veth":{"step":1,"passed":[true,false,false]}}}`), 0o644)
		m, lab := newTestApp(t, 80, 24, Options{ProgressPath: path})
		if !strings.Contains(plain(m), "◐") {
			t.Errorf("catalog does not mark veth in progress:\n%s", plain(m))
		}
		press(t, m, keyEnter)
		if m.lesson.step != 1 || !slices.Equal(lab.prepared, []int{1}) {
			t.Errorf("opened at step %d, Prepare %v; want step 2 rebuilt from 1", m.lesson.step+1, lab.prepared)
		}
	})
	t.Run("restart prepares from the start and forgets progress", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "progress.json")
		m, lab := newTestApp(t, 80, 24, Options{ProgressPath: path})
		openVeth(t, m)
		press(t, m, keyEnter, keyEnter, keyEnter, keyText("R"))
		if !strings.Contains(plain(m), "restart the lesson?") || !m.progress.Scenarios["veth"].Passed[0] {
			t.Fatalf("R did not ask first:\n%s", plain(m))
		}
		press(t, m, keyText("x"))
		if m.lesson.step != 1 || !m.progress.Scenarios["veth"].Passed[0] {
			t.Fatalf("a key other than y restarted the lesson")
		}
		press(t, m, keyText("R"), keyText("y"))
		lp := m.progress.Scenarios["veth"]
		if m.lesson.step != 0 || lp.Step != 0 || slices.Contains(lp.Passed, true) || lp.Guesses != nil || lab.prepared[len(lab.prepared)-1] != 0 {
			t.Errorf("after restart: step %d, progress %+v, prepared %v", m.lesson.step, lp, lab.prepared)
		}
	})
	t.Run("a waiting check shows what it sees while the panels keep updating", func(t *testing.T) {
		m, _ := newTestApp(t, 80, 24, Options{})
		openVeth(t, m)
		press(t, m, keyText("3"))
		m.lesson.running = true
		ch := make(chan Event)
		m.Update(stepEventMsg{run: m.lesson.run, ev: Event{Kind: CheckWaiting, Index: 0, Detail: "no reply from 10.0.0.2 yet"}, ch: ch})
		if scr := plain(m); !strings.Contains(scr, "… expect ping 10.0.0.2 -n alpha ok within 10s — no reply from 10.0.0.2 yet") {
			t.Errorf("waiting check not shown:\n%s", scr)
		}
		before := m.live.snap
		m.Update(refreshMsg{})
		_, cmd := m.Update(snapshotMsg{snap: panels.Sample(4)})
		if m.live.snap == before || cmd == nil {
			t.Error("a snapshot during a running step did not reach the panels")
		}
	})
	t.Run("enter on an unavailable scenario says why instead of opening it", func(t *testing.T) {
		m, _ := newTestApp(t, 80, 24, Options{})
		typeText(t, m, "sctp")
		press(t, m, keyEnter)
		if m.screen != scCatalog || !strings.Contains(plain(m), "cannot run here: needs sctp") {
			t.Errorf("screen %d:\n%s", m.screen, plain(m))
		}
	})
}

func TestPanelsLive(t *testing.T) {
	t.Run("frozen panels ignore snapshots and ticks", func(t *testing.T) {
		m, _ := newTestApp(t, 160, 48, Options{})
		press(t, m, tea.KeyPressMsg{Code: tea.KeyF3})
		before := m.live.snap
		m.Update(snapshotMsg{snap: panels.Sample(4)})
		if m.live.snap != before {
			t.Error("a frozen panel took a snapshot")
		}
		if _, cmd := m.Update(tickMsg{id: m.tickID}); cmd != nil {
			t.Error("a tick while frozen started a snapshot")
		}
		if !strings.Contains(plain(m), "❄ panels frozen") {
			t.Errorf("no frozen mark:\n%s", plain(m))
		}
	})
	t.Run("a stale tick is dropped", func(t *testing.T) {
		m, _ := newTestApp(t, 80, 24, Options{})
		m.Update(refreshMsg{})
		if _, cmd := m.Update(tickMsg{id: m.tickID - 1}); cmd != nil {
			t.Error("a stale tick started a snapshot")
		}
	})
}

func TestFreeLab(t *testing.T) {
	m, _ := newTestApp(t, 80, 24, Options{})
	press(t, m, keyF4)
	typeText(t, m, "ne")
	press(t, m, keyTab)
	if v := m.free.input.Value(); v != "netns " {
		t.Errorf("tab completed %q, want %q", v, "netns ")
	}
	typeText(t, m, "a")
	press(t, m, keyTab)
	if v := m.free.input.Value(); v != "netns al" && !strings.HasPrefix(v, "netns a") {
		t.Errorf("tab on two candidates gave %q", v)
	}
	m.free.input.SetValue("netns bogus")
	press(t, m, keyEnter)
	scr := strings.Split(plain(m), "\n")
	for i, l := range scr {
		if j := strings.Index(l, "✗ lab › netns bogus"); j >= 0 {
			want := ansi.StringWidth(l[:strings.Index(l, "bogus")])
			if got := strings.Index(scr[i+1], "^"); got != want {
				t.Errorf("caret at column %d, want %d (under bogus):\n%s\n%s", got, want, l, scr[i+1])
			}
		}
	}
	if v := m.free.input.Value(); v != "netns bogus" {
		t.Errorf("the failed line is not left to fix: %q", v)
	}
	m.free.input.SetValue("help")
	press(t, m, keyEnter, keyUp)
	if v := m.free.input.Value(); v != "help" {
		t.Errorf("history back gave %q", v)
	}
	press(t, m, keyUp)
	if v := m.free.input.Value(); v != "netns bogus" {
		t.Errorf("history back twice gave %q", v)
	}
	press(t, m, keyDown, keyDown)
	if v := m.free.input.Value(); v != "" {
		t.Errorf("history forward to the draft gave %q", v)
	}
	press(t, m, keyEsc)
	if m.screen != scCatalog {
		t.Error("esc did not leave the free lab")
	}
}

// TestResize draws every screen at many sizes: each frame must be exactly
// the terminal's size, whatever it is.
func TestResize(t *testing.T) {
	setups := map[string][]tea.KeyPressMsg{
		"catalog": nil, "lesson": {keyEnter, keyEnter}, "free lab": {keyF4}, "help": {keyF1},
		"panels": {keyEnter, keyText("v")}, "panels page 2": {keyEnter, keyText("v"), keyText("v")}, "free lab panels": {keyF4, tea.KeyPressMsg{Code: tea.KeyF5}}, "presenter": {keyEnter, keyF2},
	}
	for name, keys := range setups {
		m, _ := newTestApp(t, 80, 24, Options{})
		press(t, m, keys...)
		for _, sz := range [][2]int{{20, 5}, {40, 10}, {60, 20}, {80, 24}, {100, 30}, {119, 40}, {120, 40}, {160, 48}, {200, 60}, {250, 80}} {
			m.Update(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			lines := strings.Split(m.Render(), "\n")
			if len(lines) != sz[1] {
				t.Errorf("%s at %dx%d: %d lines", name, sz[0], sz[1], len(lines))
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w > sz[0] {
					t.Errorf("%s at %dx%d: line %d is %d wide: %q", name, sz[0], sz[1], i, w, ansi.Strip(l))
					break
				}
			}
		}
	}
}

// brokenCatalog is a Lab whose catalog had a file that did not load.
type brokenCatalog struct{ *fakeLab }

func (brokenCatalog) LoadErrors() []error {
	return []error{errors.New("extra/bad.md:3:1: front matter: missing id")}
}

func TestCatalogSaysWhichFilesDidNotLoad(t *testing.T) {
	m := New(Options{Lab: brokenCatalog{&fakeLab{}}, Source: fakeSource{}, tick: noTicks})
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 24})
	settle(t, m, m.Init())
	if scr := plain(m); !strings.Contains(scr, "1 scenario file(s) did not load (nslab lint shows why): extra/bad.md:3:1") {
		t.Errorf("no word of the broken file:\n%s", scr)
	}
}

// Lines entered while a command runs (typed ahead, or pasted) are queued
// and run in order; after a failure the rest are not run, and say so.
func TestFreeLabQueuesWhatIsTypedAhead(t *testing.T) {
	m, _ := newTestApp(t, 80, 24, Options{})
	press(t, m, keyF4)
	f := m.free
	enter := func(line string) tea.Cmd {
		f.input.SetValue(line)
		var cmd tea.Cmd
		f, cmd = f.Update(keyEnter)
		return cmd
	}
	first := enter("netns add a")
	if first == nil || !f.Running() {
		t.Fatal("enter did not start the command")
	}
	if cmd := enter("netns add b"); cmd != nil {
		t.Error("a second command started while the first ran")
	}
	enter("netns add c")
	if len(f.queue) != 2 || f.input.Value() != "" {
		t.Fatalf("queue %q, input %q: want two queued lines and an empty field", f.queue, f.input.Value())
	}
	cmd := first
	for range 3 { // each finishing command starts the next
		var next tea.Cmd
		f, next = f.Update(cmd())
		cmd = next
	}
	var ran []string
	for _, e := range f.log {
		ran = append(ran, e.line)
	}
	if want := []string{"netns add a", "netns add b", "netns add c"}; !slices.Equal(ran, want) {
		t.Errorf("ran %q, want %q in order", ran, want)
	}
	// A failure stops the queue: what follows may depend on it.
	first = enter("netns bogus")
	enter("netns add d")
	f, _ = f.Update(first())
	last := f.log[len(f.log)-1]
	if last.line != "netns add d" || last.res.Err == nil || !strings.Contains(last.res.Err.Error(), "not run") {
		t.Errorf("after a failure the queued line was %q (%v), want it reported not run", last.line, last.res.Err)
	}
	if f.Running() || len(f.queue) != 0 {
		t.Error("still running or queued after the failure")
	}
}
