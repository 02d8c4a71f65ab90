// Package board is the instructor's view of a room (nslab serve): every
// learner, where they are, how their checks go, who is stuck; follow one
// learner's screen; move the whole room to a step.
package board

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/ui/common"
)

// Learner is one row of the board.
type Learner struct {
	Name       string
	Lesson     string // "" in the catalog
	Step       int    // from 0
	Steps      int
	Passed     int
	Failed     int
	StepFailed bool
	Done       bool
	Connected  bool
	Stuck      bool
	OnStep     time.Duration // time on the current step
	Failing    time.Duration // how long the step has failed (0: it has not)
	Cols, Rows int
}

// Room is what the board shows and acts on. Every method may block
// briefly; the board calls them from commands.
type Room interface {
	Learners() []Learner
	// Changed is closed at the next change.
	Changed() <-chan struct{}
	// Move sends every learner to a step (from 0) of a lesson and says
	// how many it reached, or why it cannot (no such lesson or step).
	Move(lesson string, step int) (int, error)
}

// Options configure the board.
type Options struct {
	Room  Room
	Title string        // shown in the header (the room's address)
	Stuck time.Duration // shown in the legend
	Tick  time.Duration // how often durations refresh; default 1s
}

type (
	tickMsg    struct{}
	changedMsg struct{}
	rowsMsg    []Learner
	movedMsg   struct {
		lesson string
		step   int
		n      int
		err    error
	}
)

// Model is the board.
type Model struct {
	opt      Options
	st       *common.Styles
	rows     []Learner
	cursor   int
	width    int
	height   int
	moving   bool
	input    textinput.Model
	status   string
	follow   string
	quitting bool
}

var keys = struct {
	Up, Down, Follow, Move, Quit, Cancel key.Binding
}{
	Up:     key.NewBinding(key.WithKeys("up", "k")),
	Down:   key.NewBinding(key.WithKeys("down", "j")),
	Follow: key.NewBinding(key.WithKeys("enter", "f")),
	Move:   key.NewBinding(key.WithKeys("m")),
	Quit:   key.NewBinding(key.WithKeys("q", "ctrl+c")),
	Cancel: key.NewBinding(key.WithKeys("esc")),
}

// New builds the board.
func New(opt Options) *Model {
	if opt.Tick <= 0 {
		opt.Tick = time.Second
	}
	in := textinput.New()
	in.Placeholder = "LESSON STEP  (veth 3)"
	in.Prompt = "move everyone to › "
	return &Model{opt: opt, st: common.DefaultStyles(true), input: in, width: 100, height: 30}
}

// Follow is the learner chosen to follow when the board quit ("" if none).
func (m *Model) Follow() string { return m.follow }

// Init loads the rows and starts watching.
func (m *Model) Init() tea.Cmd { return tea.Batch(m.load(), m.watch(), m.tick()) }

func (m *Model) load() tea.Cmd {
	room := m.opt.Room
	return func() tea.Msg { return rowsMsg(room.Learners()) }
}

func (m *Model) watch() tea.Cmd {
	ch := m.opt.Room.Changed()
	return func() tea.Msg { <-ch; return changedMsg{} }
}

func (m *Model) tick() tea.Cmd {
	return tea.Tick(m.opt.Tick, func(time.Time) tea.Msg { return tickMsg{} })
}

// Update handles keys and the room's changes.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case rowsMsg:
		m.rows = msg
		m.cursor = min(m.cursor, max(len(m.rows)-1, 0))
	case changedMsg:
		return m, tea.Batch(m.load(), m.watch())
	case tickMsg:
		return m, tea.Batch(m.load(), m.tick())
	case movedMsg:
		if msg.err != nil {
			m.status = common.SymFail + " " + msg.err.Error()
			break
		}
		m.status = fmt.Sprintf("%s moved %d learner(s) to %s, step %d", common.SymOK, msg.n, msg.lesson, msg.step+1)
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m *Model) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if m.moving {
		switch {
		case key.Matches(msg, keys.Cancel):
			m.moving = false
			m.input.Blur()
			return m, nil
		case msg.String() == "enter":
			m.moving = false
			m.input.Blur()
			lesson, step, err := parseMove(m.input.Value())
			if err != nil {
				m.status = common.SymFail + " " + err.Error()
				return m, nil
			}
			room := m.opt.Room
			return m, func() tea.Msg {
				n, err := room.Move(lesson, step)
				return movedMsg{lesson, step, n, err}
			}
		}
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	switch {
	case key.Matches(msg, keys.Quit):
		m.quitting = true
		return m, tea.Quit
	case key.Matches(msg, keys.Up):
		m.cursor = max(m.cursor-1, 0)
	case key.Matches(msg, keys.Down):
		m.cursor = min(m.cursor+1, max(len(m.rows)-1, 0))
	case key.Matches(msg, keys.Follow):
		if m.cursor < len(m.rows) {
			m.follow = m.rows[m.cursor].Name
			return m, tea.Quit
		}
	case key.Matches(msg, keys.Move):
		m.moving, m.status = true, ""
		m.input.SetValue("")
		return m, m.input.Focus()
	}
	return m, nil
}

// parseMove reads "LESSON STEP" (step from 1, as the learners see it).
func parseMove(s string) (string, int, error) {
	f := strings.Fields(strings.ReplaceAll(s, ",", " "))
	if len(f) == 2 && strings.EqualFold(f[1], "step") {
		f = f[:1]
	}
	if len(f) == 3 && strings.EqualFold(f[1], "step") {
		f = []string{f[0], f[2]}
	}
	switch len(f) {
	case 1:
		return f[0], 0, nil
	case 2:
		n, err := strconv.Atoi(f[1])
		if err != nil || n < 1 {
			return "", 0, fmt.Errorf("%q is not a step number: type a lesson and a step, like veth 3", f[1])
		}
		return f[0], n - 1, nil
	}
	return "", 0, fmt.Errorf("type a lesson and a step, like veth 3")
}

// View draws the board.
func (m *Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	return v
}

// Render is the board as text.
func (m *Model) Render() string {
	if m.quitting {
		return ""
	}
	st := m.st
	stuck, online := 0, 0
	for _, r := range m.rows {
		if r.Stuck {
			stuck++
		}
		if r.Connected {
			online++
		}
	}
	var b strings.Builder
	head := fmt.Sprintf(" nslab room  %s  ·  %d learner(s), %d connected, %d stuck", m.opt.Title, len(m.rows), online, stuck)
	b.WriteString(st.Header.Render(ansi.Truncate(head, m.width, "…")) + "\n\n")
	cols := fmt.Sprintf("   %-14s %-16s %-9s %-9s %-8s %s", "learner", "lesson", "step", "checks", "on step", "state")
	b.WriteString(st.Bold.Render(cols) + "\n")
	if len(m.rows) == 0 {
		b.WriteString(st.Subtle.Render("   nobody yet: learners join with ssh -p PORT NAME@HOST and the room code") + "\n")
	}
	visible := max(m.height-8, 1)
	first := max(0, m.cursor-visible+1)
	for i := first; i < len(m.rows) && i < first+visible; i++ {
		r := m.rows[i]
		cur := "  "
		if i == m.cursor {
			cur = common.SymCursor + " "
		}
		lesson, step := "(catalog)", "-"
		if r.Lesson != "" {
			lesson, step = r.Lesson, fmt.Sprintf("%d/%d", r.Step+1, r.Steps)
		}
		checks := fmt.Sprintf("%s%d %s%d", common.SymOK, r.Passed, common.SymFail, r.Failed)
		line := fmt.Sprintf(" %s%-14s %-16s %-9s %-9s %-8s ", cur, trunc(r.Name, 14), trunc(lesson, 16), step, checks, short(r.OnStep))
		state, style := stateOf(r, st)
		line = ansi.Truncate(line+style.Render(state), m.width, "…")
		if i == m.cursor {
			line = st.Selected.Render(line)
		}
		b.WriteString(line + "\n")
	}
	b.WriteString("\n")
	switch {
	case m.moving:
		b.WriteString(m.input.View() + "\n")
	case m.status != "":
		b.WriteString(m.status + "\n")
	default:
		b.WriteString("\n")
	}
	legend := fmt.Sprintf("stuck: a step failing for %s or more", short(m.opt.Stuck))
	b.WriteString(st.Footer.Render(ansi.Truncate("↑/↓ select · enter follow (read-only; q comes back) · m move everyone · q quit · "+legend, m.width, "…")))
	return b.String()
}

func stateOf(r Learner, st *common.Styles) (string, lipgloss.Style) {
	switch {
	case r.Stuck:
		return fmt.Sprintf("%s STUCK (failing %s)", common.SymFail, short(r.Failing)), st.Fail
	case r.StepFailed:
		return fmt.Sprintf("%s failing %s", common.SymFail, short(r.Failing)), st.Warn
	case r.Done:
		return common.SymOK + " lesson done", st.OK
	case !r.Connected:
		return "○ disconnected (lab kept)", st.Subtle
	}
	return common.SymRun + " working", st.Text
}

func trunc(s string, n int) string { return ansi.Truncate(s, n, "…") }

// short prints a duration as 45s, 3m12s, 1h04m.
func short(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
