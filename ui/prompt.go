package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/panels"
)

// maxHistory is how many typed lines the prompt remembers.
const maxHistory = 200

type (
	execDoneMsg struct {
		line string
		res  Result
	}
	completionsMsg struct {
		line   string
		cursor int
		cands  []string
	}
)

// entry is one line typed at the prompt and what came of it.
type entry struct {
	line string
	res  Result
}

// FreeLab is the prompt for the command language: history, tab completion,
// errors shown under the line with a caret at the column.
type FreeLab struct {
	c       *common.Common
	keys    PromptKeys
	lab     Lab
	input   textinput.Model
	hist    []string
	histPos int // len(hist) = the line being edited
	draft   string
	log     []entry
	scroll  *scroller // the transcript, following its end
	running bool
	queue   []string // lines entered while one ran, run in order after it
	cands   []string
}

// NewFreeLab returns the prompt, focused.
func NewFreeLab(c *common.Common, keys PromptKeys, lab Lab) FreeLab {
	in := textinput.New()
	in.Prompt = "lab › "
	in.Placeholder = "type a command — help lists them, tab completes"
	m := FreeLab{c: c, keys: keys, lab: lab, input: in, scroll: newScroller(true)}
	m.SetStyles(c.Styles)
	m.input.Focus()
	return m
}

// SetStyles themes the text field; its cursor does not blink (a blinking
// cursor redraws twice a second for nothing).
func (m *FreeLab) SetStyles(st *common.Styles) {
	s := textinput.DefaultStyles(st.IsDark)
	s.Focused.Prompt = st.Prompt
	s.Focused.Text = st.Text
	s.Focused.Placeholder = st.Subtle
	s.Cursor.Blink = false
	m.input.SetStyles(s)
}

// run starts line.
func (m *FreeLab) run(line string) tea.Cmd {
	m.running = true
	lab := m.lab
	return func() tea.Msg { return execDoneMsg{line, lab.Exec(context.Background(), line)} }
}

// Running reports whether a command is being run.
func (m FreeLab) Running() bool { return m.running }

// Update handles typing, history, completion and results.
func (m FreeLab) Update(msg tea.Msg) (FreeLab, tea.Cmd) {
	switch msg := msg.(type) {
	case execDoneMsg:
		m.running = false
		m.log = append(m.log, entry{msg.line, msg.res})
		m.scroll.Bottom()
		if len(m.queue) > 0 {
			if msg.res.Err == nil {
				next := m.queue[0]
				m.queue = m.queue[1:]
				return m, m.run(next)
			}
			// What was typed after a failing command may depend on it.
			for _, line := range m.queue {
				m.log = append(m.log, entry{line, Result{Err: errors.New("not run: the command before it failed")}})
			}
			m.queue = nil
		}
		if msg.res.Err != nil && msg.res.Col > 0 {
			// Leave the line to be fixed, cursor at the error.
			m.input.SetValue(msg.line)
			m.input.SetCursor(msg.res.Col - 1)
		}
		return m, func() tea.Msg { return refreshMsg{} }
	case completionsMsg:
		if msg.line != m.input.Value() {
			return m, nil
		}
		m.complete(msg.cursor, msg.cands)
		return m, nil
	case tea.MouseWheelMsg:
		if msg.Mouse().Button == tea.MouseWheelUp {
			m.scroll.Up(3)
		} else {
			m.scroll.Down(3)
		}
		return m, nil
	case tea.KeyPressMsg:
		k := m.keys
		switch {
		case key.Matches(msg, k.Run):
			line := strings.TrimSpace(m.input.Value())
			if line == "" {
				return m, nil
			}
			if len(m.hist) == 0 || m.hist[len(m.hist)-1] != line {
				m.hist = append(m.hist, line)
				if len(m.hist) > maxHistory {
					m.hist = m.hist[1:]
				}
			}
			m.histPos, m.draft, m.cands = len(m.hist), "", nil
			m.input.SetValue("")
			if m.running { // typed ahead, or pasted: runs when its turn comes
				m.queue = append(m.queue, line)
				return m, nil
			}
			return m, m.run(line)
		case key.Matches(msg, k.Complete):
			line, cur, lab := m.input.Value(), m.input.Position(), m.lab
			return m, func() tea.Msg { return completionsMsg{line, cur, lab.Complete(line, cur)} }
		case key.Matches(msg, k.HistPrev):
			if m.histPos > 0 {
				if m.histPos == len(m.hist) {
					m.draft = m.input.Value()
				}
				m.histPos--
				m.input.SetValue(m.hist[m.histPos])
				m.input.CursorEnd()
			}
			return m, nil
		case key.Matches(msg, k.HistNext):
			if m.histPos < len(m.hist) {
				m.histPos++
				if m.histPos == len(m.hist) {
					m.input.SetValue(m.draft)
				} else {
					m.input.SetValue(m.hist[m.histPos])
				}
				m.input.CursorEnd()
			}
			return m, nil
		case key.Matches(msg, k.PageUp):
			m.scroll.Up(10)
			return m, nil
		case key.Matches(msg, k.PageDown):
			m.scroll.Down(10)
			return m, nil
		case key.Matches(msg, k.ClearOut):
			m.log = nil
			m.scroll.Bottom()
			return m, nil
		}
		m.cands = nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

// complete replaces the word before the cursor with the single candidate,
// or with the candidates' common prefix and lists them.
func (m *FreeLab) complete(cursor int, cands []string) {
	m.cands = nil
	if len(cands) == 0 {
		return
	}
	v := []rune(m.input.Value())
	cursor = min(cursor, len(v))
	start := cursor
	for start > 0 && v[start-1] != ' ' {
		start--
	}
	word := cands[0]
	if len(cands) > 1 {
		word = commonPrefix(cands)
		m.cands = cands
	} else {
		word += " "
	}
	if len([]rune(word)) < cursor-start {
		return
	}
	nv := string(v[:start]) + word + string(v[cursor:])
	m.input.SetValue(nv)
	m.input.SetCursor(start + len([]rune(word)))
}

func commonPrefix(ss []string) string {
	p := ss[0]
	for _, s := range ss[1:] {
		for !strings.HasPrefix(s, p) {
			p = p[:len(p)-1]
		}
	}
	return p
}

// transcript renders the log as lines, oldest first.
func (m FreeLab) transcript(w int) []string {
	st := m.c.Styles
	var lines []string
	for _, e := range m.log {
		mark := st.OK.Render(common.SymOK)
		switch {
		case e.res.Err != nil || e.res.Check && !e.res.OK:
			mark = st.Fail.Render(common.SymFail)
		case !e.res.Check:
			mark = st.Subtle.Render(common.SymRun)
		}
		lines = append(lines, mark+" "+st.Prompt.Render("lab › ")+st.Code.Render(e.line))
		if e.res.Err != nil {
			if e.res.Col > 0 {
				lines = append(lines, strings.Repeat(" ", 2+6+e.res.Col-1)+st.Caret.Render("^"))
			}
			for _, l := range strings.Split(ansi.Wordwrap(e.res.Err.Error(), max(w-4, 10), ""), "\n") {
				lines = append(lines, "  "+st.Fail.Render(l))
			}
		}
		if out := strings.TrimRight(e.res.Output, "\n"); out != "" {
			for _, l := range strings.Split(out, "\n") {
				lines = append(lines, "  "+l)
			}
		}
	}
	return lines
}

// View draws the transcript above the prompt, w x h.
func (m FreeLab) View(w, h int) string {
	st := m.c.Styles
	m.input.SetWidth(max(w-8, 10))
	var foot []string
	if len(m.cands) > 0 {
		foot = append(foot, st.Subtle.Render(ansi.Truncate(strings.Join(m.cands, "  "), w, "…")))
	}
	in := m.input.View()
	if m.running { // what is typed meanwhile still shows, and queues
		run := common.SymRun + " running…"
		if n := len(m.queue); n > 0 {
			run += fmt.Sprintf(" (%d queued)", n)
		}
		m.input.SetWidth(max(w-10-ansi.StringWidth(run), 10))
		in = st.Wait.Render(run) + "  " + m.input.View()
	}
	foot = append(foot, in)
	foot = append(foot, st.Subtle.Render("enter run · tab complete · ↑↓ history · pgup/pgdn scroll · esc catalog"))
	logH := max(h-len(foot)-1, 1)
	lines := m.transcript(w)
	if len(lines) == 0 {
		lines = []string{
			st.Title.Render("Free lab"),
			st.Text.Render("Type lab commands as in a scenario: netns add blue, link add …, watch self."),
			st.Text.Render("The panels show what the kernel sees. `help` lists every command."),
		}
	}
	shown, _, below := m.scroll.View(lines, w, logH)
	var b strings.Builder
	for i := 0; i < logH-len(shown); i++ {
		b.WriteString("\n")
	}
	b.WriteString(strings.Join(shown, "\n"))
	more := ""
	if below > 0 {
		more = fmt.Sprintf(" ↓ %d newer lines (pgdn) ", below)
	}
	b.WriteString("\n" + st.Subtle.Render(rule(more, w)))
	b.WriteString("\n" + strings.Join(foot, "\n"))
	return panels.FitBlock(b.String(), w, h)
}
