package board

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

type fakeRoom struct {
	rows  []Learner
	moved []string
}

func (f *fakeRoom) Learners() []Learner      { return f.rows }
func (f *fakeRoom) Changed() <-chan struct{} { return make(chan struct{}) }
func (f *fakeRoom) Move(lesson string, step int) (int, error) {
	if lesson != "veth" && lesson != "hello" {
		return 0, fmt.Errorf("no lesson %q", lesson)
	}
	f.moved = append(f.moved, lesson+" "+string(rune('1'+step)))
	return len(f.rows), nil
}

// run feeds a command's message back, as the program would (one level).
func run(m *Model, cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	if msg := cmd(); msg != nil {
		m.Update(msg)
	}
}

func TestTheBoardShowsEveryLearnerAndWhoIsStuck(t *testing.T) {
	room := &fakeRoom{rows: []Learner{
		{Name: "alice", Lesson: "veth", Step: 1, Steps: 5, Passed: 3, Connected: true, OnStep: 72 * time.Second},
		{Name: "bob", Lesson: "hello", Step: 2, Steps: 3, Passed: 6, Done: true, Connected: true, OnStep: 160 * time.Second},
		{Name: "carol", Lesson: "veth", Step: 3, Steps: 5, Passed: 6, Failed: 1, StepFailed: true, Stuck: true, Connected: true, OnStep: 365 * time.Second, Failing: 331 * time.Second},
		{Name: "dave", Connected: false},
	}}
	m := New(Options{Room: room, Title: "lab:2222", Stuck: 5 * time.Minute})
	m.Update(tea.WindowSizeMsg{Width: 110, Height: 16})
	run(m, m.load())
	got := ansi.Strip(m.Render())
	for _, want := range []string{
		"4 learner(s), 3 connected, 1 stuck",
		"alice          veth             2/5       ✓3 ✗0     1m12s    ▶ working",
		"bob            hello            3/3       ✓6 ✗0     2m40s    ✓ lesson done",
		"carol          veth             4/5       ✓6 ✗1     6m05s    ✗ STUCK (failing 5m31s)",
		"dave           (catalog)        -",
		"disconnected (lab kept)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the board lacks %q:\n%s", want, got)
		}
	}
	// Move the room: m, then "veth 3".
	m.Update(tea.KeyPressMsg{Code: 'm', Text: "m"})
	for _, r := range "veth 3" {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	_, cmd := m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	run(m, cmd)
	if len(room.moved) != 1 || room.moved[0] != "veth 3" {
		t.Errorf("moved %q, want veth step 3", room.moved)
	}
	if got := ansi.Strip(m.Render()); !strings.Contains(got, "moved 4 learner(s) to veth, step 3") {
		t.Errorf("no word of the move:\n%s", got)
	}
	// A move the room refuses says why, on the board.
	m.Update(tea.KeyPressMsg{Code: 'm', Text: "m"})
	for _, r := range "vet 2" {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	_, cmd = m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	run(m, cmd)
	if got := ansi.Strip(m.Render()); len(room.moved) != 1 || !strings.Contains(got, `✗ no lesson "vet"`) {
		t.Errorf("a refused move: moved %q, board:\n%s", room.moved, got)
	}
	// Follow: down to bob, enter.
	m.Update(tea.KeyPressMsg{Code: tea.KeyDown})
	if _, cmd := m.Update(tea.KeyPressMsg{Code: tea.KeyEnter}); cmd == nil || m.Follow() != "bob" {
		t.Errorf("enter on bob follows %q", m.Follow())
	}
}

func TestMoveReadsALessonAndAStep(t *testing.T) {
	for _, c := range []struct {
		in     string
		lesson string
		step   int
		bad    bool
	}{
		{"veth 3", "veth", 2, false},
		{"thread-savings, step 3", "thread-savings", 2, false},
		{"hello", "hello", 0, false},
		{"veth zero", "", 0, true},
		{"veth 0", "", 0, true},
		{"", "", 0, true},
	} {
		l, s, err := parseMove(c.in)
		if (err != nil) != c.bad || l != c.lesson || s != c.step {
			t.Errorf("parseMove(%q) = %q %d %v", c.in, l, s, err)
		}
	}
}
