package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/panels"
	"github.com/nslab/nslab/ui/prose"
)

var tabNames = []string{"lab", "sh", "go"}

// maxOutputLines is how much of one command's output the lesson shows.
const maxOutputLines = 4

// mark renders a status as its symbol (and, in presenter mode, a word).
func (m Lesson) mark(s status) string {
	st := m.c.Styles
	word := func(sym, w string) string {
		if m.c.Presenter {
			return sym + " " + w
		}
		return sym
	}
	switch s {
	case stRunning:
		return st.Wait.Render(word(common.SymRun, "RUN"))
	case stWaiting:
		return st.Wait.Render(word(common.SymWait, "WAIT"))
	case stOK:
		return st.OK.Render(word(common.SymOK, "PASS"))
	case stFailed:
		return st.Fail.Render(word(common.SymFail, "FAIL"))
	case stSkipped:
		return st.Subtle.Render(word("↷", "SKIP"))
	}
	return st.Subtle.Render(word(common.SymPending, "    "))
}

// titleLine is "Step 2/6 · Title" with the steps' marks on the right.
func (m Lesson) titleLine(w int) string {
	st := m.c.Styles
	if len(m.sc.Steps) == 0 {
		return st.Title.Render(m.sc.Title + " has no steps")
	}
	lp := m.progress.Scenarios[m.sc.ID]
	var dots []string
	for i := range m.sc.Steps {
		d := st.Subtle.Render(fmt.Sprintf("%d", i+1))
		passed := m.states[i].passed || lp != nil && i < len(lp.Passed) && lp.Passed[i]
		switch {
		case i == m.step && passed && !m.intro:
			d = st.Cursor.Render(fmt.Sprintf("%d%s", i+1, common.SymOK))
		case i == m.step && !m.intro:
			d = st.Cursor.Render(fmt.Sprintf("%d%s", i+1, common.SymRun))
		case passed:
			d = st.OK.Render(fmt.Sprintf("%d%s", i+1, common.SymOK))
		}
		dots = append(dots, d)
	}
	right := strings.Join(dots, " ")
	left := st.Title.Render(fmt.Sprintf("Step %d/%d · %s", m.step+1, len(m.sc.Steps), m.sc.Steps[m.step].Title))
	if m.intro {
		left = st.Title.Render(fmt.Sprintf("Introduction · %d steps", len(m.sc.Steps)))
	}
	gap := w - ansi.StringWidth(left) - ansi.StringWidth(right)
	if gap < 2 {
		return panels.Fit(left, w)
	}
	return left + strings.Repeat(" ", gap) + right
}

// bottom is everything under the narration: tabs, commands, checks, hint
// and status, as lines.
func (m Lesson) bottom(w int) []string {
	st := m.c.Styles
	step := m.sc.Steps[m.step]
	s := m.states[m.step]
	var tabs []string
	for i, n := range tabNames {
		if i == m.tab {
			tabs = append(tabs, st.TabActive.Render("["+n+"]"))
		} else {
			tabs = append(tabs, st.TabIdle.Render(" "+n+" "))
		}
	}
	lines := []string{strings.Join(tabs, " ") + st.Subtle.Render("  tab: switch")}
	if m.intro {
		return []string{st.Subtle.Render(fmt.Sprintf("Read the introduction, then enter begins step 1 of %d.", len(m.sc.Steps)))}
	}
	switch m.tab {
	case 0:
		lines = append(lines, m.learnerLines(w)...)
		if len(step.Commands) == 0 && len(step.HandsOn) == 0 && !step.Challenge() {
			lines = append(lines, st.Subtle.Render("  (nothing to run in this step: its checks read what the kernel shows)"))
		}
		for i, c := range step.Commands {
			cs := s.cmds[i]
			mark := m.mark(cs.st) + " "
			if m.c.Presenter {
				// On a projector a cut command cannot be read off the
				// screen: it wraps, under itself.
				mw := ansi.StringWidth(mark)
				for i, l := range strings.Split(ansi.Wrap(c.Text, max(w-mw, 10), " "), "\n") {
					if i > 0 {
						mark = strings.Repeat(" ", mw)
					}
					lines = append(lines, mark+st.Code.Render(l))
				}
			} else {
				lines = append(lines, mark+st.Code.Render(c.Text))
			}
			if cs.st == stFailed {
				if cs.col > 0 {
					lines = append(lines, "  "+strings.Repeat(" ", min(cs.col-1, w))+st.Caret.Render("^"))
				}
				for _, l := range strings.Split(ansi.Wordwrap(cs.err, max(w-4, 10), ""), "\n") {
					lines = append(lines, "  "+st.Fail.Render(l))
				}
			}
			if out := strings.TrimRight(cs.output, "\n"); out != "" {
				ol := strings.Split(out, "\n")
				more := 0
				if len(ol) > maxOutputLines {
					more = len(ol) - maxOutputLines
					ol = ol[:maxOutputLines]
				}
				for _, l := range ol {
					lines = append(lines, "  "+st.Subtle.Render("│ ")+l)
				}
				if more > 0 {
					lines = append(lines, "  "+st.Subtle.Render(fmt.Sprintf("│ … %d more lines", more)))
				}
			}
		}
	case 1, 2:
		text := step.Sh
		if m.tab == 2 {
			text = step.Go
		}
		if text == "" {
			var parts []string
			for _, c := range step.Commands {
				if m.tab == 1 && c.Sh != "" {
					parts = append(parts, c.Sh)
				} else if m.tab == 2 && c.Go != "" {
					parts = append(parts, c.Go)
				}
			}
			text = strings.Join(parts, "\n")
		}
		if text == "" {
			text = "(no " + tabNames[m.tab] + " equivalent for this step)"
		} else if m.tab == 2 {
			// Go is highlighted as a whole (a comment or raw string may
			// span lines), each line closed on its own.
			text = strings.ReplaceAll(strings.TrimRight(text, "\n"), "\t", "    ")
			for _, l := range strings.Split(prose.HighlightGo(text, st.IsDark), "\n") {
				lines = append(lines, "  "+l)
			}
			break
		}
		for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			lines = append(lines, "  "+st.Code.Render(l))
		}
	}
	if len(step.Checks) > 0 {
		lines = append(lines, st.Bold.Render("checks"))
	}
	for i, c := range step.Checks {
		cs := s.checks[i]
		line := m.mark(cs.st) + " " + st.Text.Render(c)
		if cs.detail != "" && cs.st != stOK {
			line += st.Subtle.Render(" — " + cs.detail)
		}
		lines = append(lines, line)
	}
	lines = append(lines, m.guessLines(w)...)
	if (s.checkFailed() || s.hints > 0 && !step.Challenge()) && step.Hint != "" {
		for i, l := range strings.Split(ansi.Wordwrap(step.Hint, max(w-8, 10), ""), "\n") {
			p := "      "
			if i == 0 {
				p = "hint: "
			}
			lines = append(lines, st.Warn.Render(p+l))
		}
	}
	return lines
}

// statusLine says what is going on and what enter will do.
func (m Lesson) statusLine() string {
	st := m.c.Styles
	step := m.sc.Steps[m.step]
	switch {
	case m.confirm == "restart":
		return st.Warn.Render("restart the lesson? what you passed in it is forgotten — y: yes, any other key: no")
	case m.intro && m.preparing:
		return st.Subtle.Render("enter: begin step 1 · ↓/j: scroll (the lab is being prepared)")
	case m.intro:
		return st.Subtle.Render("enter: begin step 1 · ↓/j: scroll · ?: help")
	case m.preparing && m.step > 0:
		return st.Wait.Render(fmt.Sprintf("%s rebuilding the lab up to step %d…", common.SymWait, m.step+1))
	case m.preparing:
		return st.Wait.Render(common.SymWait + " preparing a fresh lab…")
	case m.prepErr != "":
		return st.Fail.Render(common.SymFail + " " + m.prepErr + " — R restarts the lesson")
	case m.running && (len(step.HandsOn) > 0 || step.Challenge()):
		return st.Wait.Render(fmt.Sprintf("%s waiting for you… %s (o: a second terminal · l: the lab prompt · h: hint · x cancels)", common.SymWait, m.elapsed()))
	case m.running:
		return st.Wait.Render(fmt.Sprintf("%s running… %s (the panels update live; x cancels)", common.SymRun, m.elapsed()))
	case m.asking():
		return st.Subtle.Render("answer the question, then enter runs the step · s: pass over it")
	case m.status != "":
		if strings.HasPrefix(m.status, common.SymOK) {
			return st.OK.Render(m.status)
		}
		if strings.HasPrefix(m.status, common.SymFail) {
			return st.Fail.Render(m.status)
		}
		return st.Text.Render(m.status)
	}
	if len(step.HandsOn) > 0 || step.Challenge() {
		return st.Subtle.Render("enter: the lab watches for it · o: a second terminal · l: the lab prompt · h: hint")
	}
	return st.Subtle.Render("enter: run this step · n/p: next/previous · ?: help")
}

// layout splits h lines between the narration and the bottom block.
func (m Lesson) layout(w, h int) (narr []string, narrH int, bottom []string) {
	bottom = append(m.bottom(w), m.statusLine())
	maxBottom := max(h-1-3, 3) // title line, at least 3 lines of narration
	if len(bottom) > maxBottom {
		bottom = m.cutBottom(bottom, maxBottom, w)
	}
	narrH = max(h-1-len(bottom)-1, 1)
	prose := m.sc.Steps[m.step].Prose
	if m.intro {
		prose = m.sc.Intro
	}
	text := m.md.Render(prose, w, m.c.Styles.IsDark)
	narr = strings.Split(text, "\n")
	return narr, narrH, bottom
}

// cutBottom fits the lines under the narration into max: the tabs and the
// learner's part (what to type, the question, the hints) stay at the top,
// the checks and the status at the bottom; what gives way is in between
// (commands and their output), then the start of the learner's part.
func (m Lesson) cutBottom(lines []string, limit, w int) []string {
	head := 1 + len(m.learnerLines(w)) // the tabs, then the learner's part
	if m.tab != 0 || m.intro {
		head = 1
	}
	head = min(head, len(lines))
	room := limit - head - 1 // one line says what was cut
	if room >= 2 {
		cut := len(lines) - head - room
		return append(append(lines[:head:head], m.c.Styles.Subtle.Render(fmt.Sprintf("  ↕ %d lines not shown", cut))), lines[len(lines)-room:]...)
	}
	cut := len(lines) - limit + 1
	return append([]string{lines[0], m.c.Styles.Subtle.Render(fmt.Sprintf("  ↑ %d lines above", cut))}, lines[1+cut:]...)
}

// tabAt maps a click to a tab; y counts from the top of the screen.
func (m Lesson) tabAt(x, y int) (int, bool) {
	if len(m.sc.Steps) == 0 {
		return 0, false
	}
	w := m.width()
	_, narrH, _ := m.layout(w, m.c.Height)
	if y != 1+1+narrH+1 || x >= w {
		return 0, false
	}
	t := x / 6
	return t, t < len(tabNames)
}

// width is the lesson's column: all of it when narrow, about half beside
// the panels when wide.
func (m Lesson) width() int { return columnWidth(m.c) }

// View draws the lesson column, w x h.
func (m Lesson) View(w, h int) string {
	if len(m.sc.Steps) == 0 {
		return panels.FitBlock(m.titleLine(w), w, h)
	}
	narr, narrH, bottom := m.layout(w, h)
	shown, _, below := m.scroll.View(narr, w, narrH)
	var b strings.Builder
	b.WriteString(panels.Fit(m.titleLine(w), w))
	for i := 0; i < narrH; i++ {
		b.WriteByte('\n')
		if i < len(shown) {
			b.WriteString(panels.Fit(shown[i], w))
		} else {
			b.WriteString(strings.Repeat(" ", w))
		}
	}
	more := ""
	if below > 0 {
		more = fmt.Sprintf(" ↓ %d more lines (j/↓) ", below)
	}
	b.WriteString("\n" + m.c.Styles.Subtle.Render(rule(more, w)))
	for _, l := range bottom {
		b.WriteString("\n" + panels.Fit(l, w))
	}
	return panels.FitBlock(b.String(), w, h)
}

// rule is a horizontal line w cells wide with an optional label in it.
func rule(label string, w int) string {
	n := ansi.StringWidth(label)
	if n+2 > w {
		return strings.Repeat("─", w)
	}
	return "──" + label + strings.Repeat("─", w-2-n)
}
