package ui

import (
	"bytes"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// TestEndToEnd runs the real program on fakes: open the veth lesson, run
// every step with the keyboard until all checks pass, quit.
func TestEndToEnd(t *testing.T) {
	lab := &fakeLab{}
	path := filepath.Join(t.TempDir(), "progress.json")
	m := New(Options{Lab: lab, Source: fakeSource{sockets: 10}, ProgressPath: path, Interval: 50 * time.Millisecond})
	// The renderer sends only what changed, so the output stream cannot be
	// searched for a line that looks like an earlier one. The filter runs
	// on the program's goroutine before every message: it records the
	// screen the model would draw, which the test then waits on.
	var last atomic.Value
	last.Store("")
	filter := func(mm tea.Model, msg tea.Msg) tea.Msg {
		last.Store(ansi.Strip(mm.(*App).Render()))
		return msg
	}
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii), tea.WithFilter(filter)))
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(last.Load().(string), what) {
			if time.Now().After(deadline) {
				t.Fatalf("waited 5s for %q; screen:\n%s", what, last.Load())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("A veth pair between two namespaces")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitFor("Step 1/3")
	for step := 1; step <= 3; step++ {
		tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter}) // run
		if step < 3 {
			waitFor(fmt.Sprintf("step %d passed", step))
			tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter}) // next
		}
	}
	waitFor("lesson complete")
	tm.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*App)
	final.Wait(5 * time.Second)
	for i, s := range final.lesson.states {
		if !s.passed {
			t.Errorf("step %d did not pass", i+1)
		}
	}
	screen := ansi.Strip(final.Render())
	if strings.Contains(screen, "✗") {
		t.Errorf("a check failed:\n%s", screen)
	}
	data, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(data, []byte(`"done": true`)) {
		t.Errorf("progress not saved as done: %v\n%s", err, data)
	}
}

// On a terminal too narrow for the lesson's title and the flags, the title
// is cut, not the flags: frozen panels must never look live.
func TestHeaderKeepsTheFlagsOverALongTitle(t *testing.T) {
	m, _ := newTestApp(t, 64, 24, Options{})
	press(t, m, keyEnter, keyF2, keyF3)
	head, _, _ := strings.Cut(plain(m), "\n")
	if !strings.Contains(head, "❄ panels frozen") || !strings.Contains(head, "◉ presenter") || !strings.Contains(head, "A veth pair") {
		t.Errorf("header at 64 columns: %q", head)
	}
}

func click(t *testing.T, m *App, x, y int) {
	t.Helper()
	_, cmd := m.Update(tea.MouseClickMsg{X: x, Y: y, Button: tea.MouseLeft})
	settle(t, m, cmd)
}

// The mouse where it is natural: a click selects a lesson and a second one
// opens it; a click on a tab switches to it; the wheel scrolls.
func TestMouse(t *testing.T) {
	m, _ := newTestApp(t, 80, 24, Options{})
	click(t, m, 10, 4) // the second row: header, filter, column titles, veth
	if m.screen != scCatalog || m.catalog.Selected().ID != "ns-basics" {
		t.Fatalf("a click on the second row: screen %d, selected %q", m.screen, m.catalog.Selected().ID)
	}
	click(t, m, 10, 4)
	if m.screen != scLesson || m.lesson.sc.ID != "ns-basics" {
		t.Fatalf("a second click did not open ns-basics: screen %d", m.screen)
	}
	press(t, m, keyEsc)
	press(t, m, keyUp, keyEnter) // veth
	y := -1
	for i, l := range strings.Split(plain(m), "\n") {
		if strings.HasPrefix(l, "[lab]") {
			y = i
		}
	}
	if y < 0 {
		t.Fatalf("no tab row:\n%s", plain(m))
	}
	click(t, m, 7, y) // on "sh"
	if m.lesson.tab != 1 || !strings.Contains(plain(m), "ip netns add nslab-alpha") {
		t.Errorf("a click on sh: tab %d\n%s", m.lesson.tab, plain(m))
	}
	// (The wheel over a narration that does not fit: scroll_test.go.)
}

// The theme follows the terminal's background, which the program asks for
// at start.
func TestThemeFollowsTheTerminal(t *testing.T) {
	m, _ := newTestApp(t, 80, 24, Options{})
	m.Update(tea.BackgroundColorMsg{Color: color.White})
	if m.c.Styles.IsDark {
		t.Error("a white background gave the dark theme")
	}
	m.Update(tea.BackgroundColorMsg{Color: color.Black})
	if !m.c.Styles.IsDark {
		t.Error("a black background gave the light theme")
	}
}
