package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

func has(t *testing.T, m *App, wants ...string) {
	t.Helper()
	scr := plain(m)
	for _, w := range wants {
		if !strings.Contains(scr, w) {
			t.Errorf("screen lacks %q:\n%s", w, scr)
		}
	}
}

func TestALessonOpensOnItsIntroduction(t *testing.T) {
	m, lab := newTestApp(t, 80, 24, Options{})
	press(t, m, keyEnter)
	has(t, m, "Introduction · 3 steps", "A veth pair is a virtual cable", "enter: begin step 1")
	if len(lab.prepared) != 1 {
		t.Errorf("the lab was not prepared while the introduction shows: %v", lab.prepared)
	}
	press(t, m, keyText("3")) // not a jump: the introduction takes enter only
	has(t, m, "Introduction")
	press(t, m, keyEnter)
	has(t, m, "Step 1/3 · Two namespaces")
}

func TestAPredictionIsAskedThenSetBesideTheResult(t *testing.T) {
	m, lab := newTestApp(t, 80, 24, Options{})
	press(t, m, keyEnter, keyEnter)
	has(t, m, "? predict before it runs: Will alpha and beta share one", "y or n")
	press(t, m, keyEnter)
	if len(lab.ran) != 0 {
		t.Fatal("the step ran before its question was answered")
	}
	has(t, m, "answer first (y or n)")
	press(t, m, keyText("y"))
	if g := m.progress.Scenarios["veth"].Guesses[0]; g.Answer != "yes" || g.Right {
		t.Errorf("guess recorded as %+v, want a wrong yes", g)
	}
	press(t, m, keyEnter)
	has(t, m, "✗ you guessed yes · the answer: no · the kernel: it exists", "why each stack has its own lo.")
	// Back on the step later, the question is not asked again.
	press(t, m, keyEnter, keyText("p"))
	if m.lesson.asking() {
		t.Error("an answered question is asked again")
	}
}

func TestANumberGuessIsTypedAndJudged(t *testing.T) {
	m, _ := newTestApp(t, 80, 24, Options{})
	sc := fakeScenarios()[0]
	sc.Steps[0].Predict = &Predict{Question: "How many?", Kind: "number", Answer: "50 ± 10", See: 0,
		Judge: func(g string) (string, bool, error) { return g, g == "55", nil }}
	m.lesson, _ = NewLesson(m.c, m.keys.Lesson, m.opt.Lab, m.md, m.progress, m.store, sc, 0)
	m.screen, m.inLesson = scLesson, true
	press(t, m, keyEnter, keyText("5"), keyText("5"))
	has(t, m, "your guess › 55")
	press(t, m, tea.KeyPressMsg{Code: tea.KeyBackspace}, keyText("5"), keyEnter)
	if g := m.progress.Scenarios["veth"].Guesses[0]; g.Answer != "55" || !g.Right {
		t.Errorf("guess %+v", g)
	}
}

func TestJumpingOverAStepKeepsTheLessonInProgress(t *testing.T) {
	m, _ := newTestApp(t, 80, 24, Options{})
	openVeth(t, m)
	press(t, m, keyText("3"), keyEnter)
	lp := m.progress.Scenarios["veth"]
	if lp.Done || m.progress.Mark("veth") != "partial" {
		t.Errorf("after passing only the last step: done %v, mark %s", lp.Done, m.progress.Mark("veth"))
	}
	has(t, m, "steps 1, 2 not passed yet: the lesson stays in progress", "3✓")
	press(t, m, keyText("1"), keyEnter, keyEnter, keyEnter, keyText("3"), keyEnter)
	if !m.progress.Scenarios["veth"].Done {
		t.Errorf("every step passed, the lesson is not done:\n%s", plain(m))
	}
}

func TestQuitInALessonAsksFirst(t *testing.T) {
	m, _ := newTestApp(t, 80, 24, Options{})
	openVeth(t, m)
	_, cmd := m.Update(keyText("q"))
	if cmd != nil {
		t.Fatal("q quit without asking")
	}
	has(t, m, "quit nslab? the lab and everything in it is removed")
	press(t, m, keyText("n"))
	if m.screen != scLesson || m.confirmQuit {
		t.Error("n did not keep the lesson")
	}
	m.Update(keyText("q"))
	_, cmd = m.Update(keyText("y"))
	if cmd == nil {
		t.Fatal("y did not quit")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("y did not quit")
	}
}

func TestAHandsOnStepShowsWhatToTypeAndOpensATerminal(t *testing.T) {
	t.Setenv("TMUX", "")
	m, _ := newTestApp(t, 80, 24, Options{Shell: "nslab shell 4242"})
	typeText(t, m, "yours")
	press(t, m, keyEnter)
	has(t, m, "your turn", "$ ip -n nslab-demo link set lo up", "or at the lab prompt (l): link set lo up -n demo")
	press(t, m, keyText("o"))
	has(t, m, "open a second terminal, run `nslab shell 4242`, then type: ip -n")
	m.lesson.running = true // the fake's check holds at once: look at the wait itself
	has(t, m, "waiting for you", "o: a second terminal")
}

func TestAChallengeRevealsHintsOneAtATimeThenItsSolution(t *testing.T) {
	m, _ := newTestApp(t, 100, 30, Options{})
	typeText(t, m, "yours")
	press(t, m, keyEnter, keyText("2"))
	has(t, m, "challenge", "h: a hint (1 of 2)")
	if strings.Contains(plain(m), "addr add") {
		t.Fatalf("the solution shows before the hints:\n%s", plain(m))
	}
	press(t, m, keyText("h"))
	has(t, m, "hint 1/2: Addresses are added with ip addr add.", "h: a hint (2 of 2)")
	press(t, m, keyText("h"))
	has(t, m, "hint 2/2:", "h: show the solution")
	press(t, m, keyText("h"))
	has(t, m, "addr add 10.9.0.1/32 dev lo -n demo", "$ ip -n nslab-demo addr add 10.9.0.1/32 dev lo")
}

func TestTheHoldersViewSaysWhatKeepsANamespace(t *testing.T) {
	m, _ := newTestApp(t, 100, 30, Options{})
	press(t, m, tea.KeyPressMsg{Code: tea.KeyF6})
	has(t, m, "who holds the lab's namespaces", "keep net:[4026532301]", "socket   pid 4242 (nslab) fd 9", "lsns does not list it")
	press(t, m, keyEsc)
	if m.showHolders {
		t.Error("esc did not close the holders view")
	}
}

func TestFreeLabLines(t *testing.T) {
	// failed is the free lab after "netns bogus" failed: the line is back.
	failed := func(t *testing.T) *App {
		t.Helper()
		m, _ := newTestApp(t, 80, 24, Options{})
		press(t, m, keyF4)
		typeText(t, m, "netns bogus")
		press(t, m, keyEnter)
		if v := m.free.input.Value(); v != "netns bogus" {
			t.Fatalf("the failed line is not back: %q", v)
		}
		return m
	}
	t.Run("a line put back after an error is replaced by a new command", func(t *testing.T) {
		m := failed(t)
		typeText(t, m, "help")
		if v := m.free.input.Value(); v != "help" {
			t.Errorf("typing after the error gave %q, want the new command alone", v)
		}
	})
	t.Run("an edit keeps it", func(t *testing.T) {
		m := failed(t)
		press(t, m, tea.KeyPressMsg{Code: tea.KeyRight})
		typeText(t, m, "x")
		if v := m.free.input.Value(); v != "netns bxogus" {
			t.Errorf("an edit after moving gave %q", v)
		}
	})
	t.Run("ctrl+c stops a running command and does not quit", func(t *testing.T) {
		m, _ := newTestApp(t, 80, 24, Options{})
		press(t, m, keyF4)
		m.free.input.SetValue("expect link lo -n demo up within 60s")
		_, run := m.Update(keyEnter) // the command that waits, not yet settled
		if !m.free.Running() || run == nil {
			t.Fatal("not running")
		}
		done := make(chan tea.Msg, 1)
		go func() { done <- run() }()
		_, cmd := m.Update(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
		if cmd != nil {
			t.Error("ctrl+c during a command quit the program")
		}
		select {
		case msg := <-done:
			m.Update(msg)
		case <-time.After(5 * time.Second):
			t.Fatal("ctrl+c did not stop the waiting command")
		}
		if m.free.Running() || !strings.Contains(plain(m), "(interrupted)") {
			t.Errorf("after ctrl+c:\n%s", plain(m))
		}
		if _, cmd := m.Update(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}); cmd == nil {
			t.Error("a second ctrl+c, with nothing running, did not quit")
		}
	})
}

func TestTheCatalogIsACourse(t *testing.T) {
	m, _ := newTestApp(t, 160, 40, Options{})
	has(t, m, "first steps", "the proxy core", "A veth pair between two namespaces (veth)  ← start here")
	if m.catalog.Selected().ID != "veth" {
		t.Errorf("the cursor starts on %s, want the first lesson", m.catalog.Selected().ID)
	}
	press(t, m, keyUp)
	if m.catalog.Selected().ID != "veth" {
		t.Errorf("up from the first lesson went to %v", m.catalog.Selected())
	}
	press(t, m, keyDown, keyDown)
	if m.catalog.Selected().ID != "blocking-accept" {
		t.Errorf("down over a part's title landed on %v, want blocking-accept", m.catalog.Selected().ID)
	}
	press(t, m, keyUp)
	if m.catalog.Selected().ID != "ns-basics" {
		t.Errorf("up over a part's title landed on %v, want ns-basics", m.catalog.Selected().ID)
	}
	press(t, m, keyUp)
	openVeth(t, m)
	press(t, m, keyEnter, keyEsc)
	if strings.Contains(plain(m), "start here") {
		t.Error("start here still shows once a lesson was begun")
	}
	has(t, m, "1/3")
}

func TestTheFilterRanksIDAndTitleFirst(t *testing.T) {
	targets := []string{
		catalogItem{s: &Scenario{ID: "pid", Title: "PID 1", Summary: "until /proc is mounted again in a new mount namespace"}}.FilterValue(),
		"",
		catalogItem{s: &Scenario{ID: "user", Title: "Who am I", Summary: "uid maps"}}.FilterValue(),
		catalogItem{s: &Scenario{ID: "mount", Title: "Mounts that leak", Summary: "propagation"}}.FilterValue(),
		catalogItem{s: &Scenario{ID: "leaky", Title: "A mount here", Summary: "x"}}.FilterValue(),
	}
	got := rankFilter("mount", targets)
	var order []int
	for _, r := range got {
		order = append(order, r.Index)
	}
	if want := []int{3, 4, 0}; !equalInts(order, want) {
		t.Errorf("ranks %v, want %v: the id, then a title, then a summary", order, want)
	}
	if r := rankFilter("zzz", targets); len(r) != 0 {
		t.Errorf("%v matched nothing", r)
	}

}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
