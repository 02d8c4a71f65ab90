package ui

import (
	"bytes"
	"fmt"
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
