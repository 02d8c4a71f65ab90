package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/ui/common"
)

// The learner's part of a lesson: a prediction asked before the step runs
// and set beside what the kernel showed after; the commands a hands-on
// step waits for, typed into a second terminal on o; a challenge's hints,
// one per h, then its solution.

// asking reports whether the step's prediction waits for an answer: it has
// one, the learner has not answered it (now or in an earlier visit) nor
// passed it over, and the step is not running.
func (m Lesson) asking() bool {
	st := m.sc.Steps[m.step]
	if st.Predict == nil || m.running || m.states[m.step].asked {
		return false
	}
	_, answered := m.guess()
	return !answered
}

// guess is the learner's answer to this step's prediction, if any.
func (m Lesson) guess() (Guess, bool) {
	lp := m.progress.Scenarios[m.sc.ID]
	if lp == nil {
		return Guess{}, false
	}
	g, ok := lp.Guesses[m.step]
	return g, ok
}

// learnerKey handles the keys of the learner's part; done reports that the
// key was one of them.
func (m Lesson) learnerKey(msg tea.KeyPressMsg) (Lesson, tea.Cmd, bool) {
	k := m.keys
	st := m.sc.Steps[m.step]
	switch {
	case key.Matches(msg, k.Hint) && (st.Challenge() || st.Hint != ""):
		s := &m.states[m.step]
		if st.Challenge() {
			s.hints = min(s.hints+1, len(st.Hints)+1)
		} else {
			s.hints = 1
		}
		return m, nil, true
	case key.Matches(msg, k.Terminal) && (len(st.HandsOn) > 0 || st.Challenge()):
		var lines []string
		if !labOnly(st.HandsOn) {
			lines = m.shells(st.HandsOn, 0)
		}
		m.term = "opening a second terminal…"
		return m, openTerminal(m.shell, lines), true
	}
	if !m.asking() {
		return m, nil, false
	}
	p := st.Predict
	text := msg.Key().Text
	switch {
	case key.Matches(msg, k.SkipQuestion):
		m.states[m.step].asked = true
		m.answer, m.answerErr = "", ""
		m.status = "question passed over — enter runs the step"
		return m, nil, true
	case p.Kind == "choice" && len(text) == 1 && text[0] >= '1' && text[0] <= '9':
		return m.answerWith(text)
	case p.Kind == "yesno" && (text == "y" || text == "n"):
		return m.answerWith(text)
	case p.Kind == "number" && len(text) == 1 && strings.ContainsAny(text, "0123456789.-"):
		m.answer += text
		m.answerErr = ""
		return m, nil, true
	case p.Kind == "number" && msg.String() == "backspace":
		if m.answer != "" {
			m.answer = m.answer[:len(m.answer)-1]
		}
		return m, nil, true
	case p.Kind == "number" && key.Matches(msg, k.Run) && m.answer != "":
		return m.answerWith(m.answer)
	case key.Matches(msg, k.Run):
		m.answerErr = "answer first (" + answerKeys(p) + "), or s to pass over the question"
		return m, nil, true
	}
	return m, nil, false
}

// labOnly reports whether a command of cmds is one only the lab's prompt
// can do.
func labOnly(cmds []Command) bool {
	for _, c := range cmds {
		if c.LabOnly {
			return true
		}
	}
	return false
}

// shells is the shell form of cmds: with the children's real PIDs once the
// step has run its commands (ShellResolved: the hands-on commands, then the
// solution's, from offset at), else as written.
func (m Lesson) shells(cmds []Command, at int) []string {
	s := m.states[m.step]
	out := make([]string, len(cmds))
	for i, c := range cmds {
		out[i] = c.Sh
		if at+i < len(s.shell) {
			out[i] = s.shell[at+i]
		}
	}
	return out
}

func answerKeys(p *Predict) string {
	switch p.Kind {
	case "choice":
		return fmt.Sprintf("1-%d", len(p.Choices))
	case "yesno":
		return "y or n"
	}
	return "type a number, then enter"
}

// answerWith judges a guess; one that reads is recorded in the progress.
func (m Lesson) answerWith(guess string) (Lesson, tea.Cmd, bool) {
	text, right, err := m.sc.Steps[m.step].Predict.Judge(guess)
	if err != nil {
		m.answerErr = err.Error()
		m.answer = ""
		return m, nil, true
	}
	lp := m.progress.Lesson(m.sc.ID)
	if lp.Guesses == nil {
		lp.Guesses = map[int]Guess{}
	}
	lp.Guesses[m.step] = Guess{Answer: text, Right: right}
	lp.Updated = time.Now()
	m.answer, m.answerErr = "", ""
	m.states[m.step].asked = true
	m.status = "your guess: " + text + " — enter runs the step; the answer comes after"
	return m, m.store.save(m.progress), true
}

// learnerLines is the learner's part of the lab tab: the question, what to
// type, the hints, and after a run the guess beside the answer.
func (m Lesson) learnerLines(w int) []string {
	st := m.c.Styles
	step := m.sc.Steps[m.step]
	s := m.states[m.step]
	var lines []string
	wrap := func(style func(...string) string, prefix, text string) {
		for i, l := range strings.Split(ansi.Wordwrap(text, max(w-ansi.StringWidth(prefix)-1, 10), ""), "\n") {
			p := prefix
			if i > 0 {
				p = strings.Repeat(" ", ansi.StringWidth(prefix))
			}
			lines = append(lines, style(p+l))
		}
	}
	if p := step.Predict; p != nil && m.asking() {
		wrap(st.Title.Render, "? ", "predict before it runs: "+p.Question)
		for i, c := range p.Choices {
			wrap(st.Text.Render, fmt.Sprintf("  %d. ", i+1), c)
		}
		in := "  " + answerKeys(p) + " · s passes over the question"
		if p.Kind == "number" {
			in = "  your guess › " + m.answer + "▏  (enter · s passes over)"
		}
		lines = append(lines, st.Prompt.Render(in))
		if m.answerErr != "" {
			lines = append(lines, st.Warn.Render("  "+m.answerErr))
		}
	}
	if len(step.HandsOn) > 0 {
		var texts []string
		for _, c := range step.HandsOn {
			texts = append(texts, c.Text)
		}
		if labOnly(step.HandsOn) {
			lines = append(lines, st.Title.Render("your turn")+st.Subtle.Render(" — at the lab prompt (l), type:"))
			for _, t := range texts {
				lines = append(lines, "  "+st.Code.Render(t))
			}
		} else {
			lines = append(lines, st.Title.Render("your turn")+st.Subtle.Render(" — in a second terminal (o opens one: nslab shell), type:"))
			for _, sh := range m.shells(step.HandsOn, 0) {
				for _, l := range strings.Split(sh, "\n") {
					lines = append(lines, "  "+st.Code.Render("$ "+l))
				}
			}
			lines = append(lines, st.Subtle.Render("  or at the lab prompt (l): ")+st.Code.Render(strings.Join(texts, "; ")))
			if strings.Contains(strings.Join(m.shells(step.HandsOn, 0), " "), "$PID_OF_") {
				lines = append(lines, st.Subtle.Render("  ($PID_OF_…: the child's PID, filled in when you press enter)"))
			}
		}
	}
	if step.Challenge() {
		lines = append(lines, st.Title.Render("challenge")+st.Subtle.Render(" — the goal is above; the check waits for what the kernel shows"))
		for i := 0; i < min(s.hints, len(step.Hints)); i++ {
			wrap(st.Warn.Render, fmt.Sprintf("  hint %d/%d: ", i+1, len(step.Hints)), step.Hints[i])
		}
		switch {
		case s.hints > len(step.Hints):
			lines = append(lines, st.Subtle.Render("  solution (lab prompt, then a second terminal):"))
			sh := m.shells(step.Solution, len(step.HandsOn))
			for i, c := range step.Solution {
				lines = append(lines, "  "+st.Code.Render(c.Text))
				if c.LabOnly {
					continue
				}
				for _, l := range strings.Split(sh[i], "\n") {
					lines = append(lines, "    "+st.Subtle.Render("$ "+l))
				}
			}
		case s.hints == len(step.Hints):
			lines = append(lines, st.Subtle.Render("  h: show the solution · o: a second terminal · l: the lab prompt"))
		default:
			lines = append(lines, st.Subtle.Render(fmt.Sprintf("  h: a hint (%d of %d) · o: a second terminal · l: the lab prompt", s.hints+1, len(step.Hints))))
		}
	}
	if m.term != "" {
		wrap(st.Subtle.Render, "  ", m.term)
	}
	return lines
}

// guessLines sets the learner's guess beside the answer and what the
// kernel showed, once the step has run.
func (m Lesson) guessLines(w int) []string {
	st := m.c.Styles
	step := m.sc.Steps[m.step]
	s := m.states[m.step]
	p := step.Predict
	if p == nil || !s.ran || m.running {
		return nil
	}
	g, ok := m.guess()
	line := st.Subtle.Render("no guess")
	if ok {
		mark := st.OK.Render(common.SymOK)
		if !g.Right {
			mark = st.Fail.Render(common.SymFail)
		}
		line = mark + st.Text.Render(" you guessed "+g.Answer)
	}
	line += st.Subtle.Render(" · ") + st.Text.Render("the answer: "+p.Answer)
	if p.See >= 0 && p.See < len(s.checks) && s.checks[p.See].seen != "" {
		line += st.Subtle.Render(" · the kernel: " + s.checks[p.See].seen)
	}
	lines := strings.Split(ansi.Wordwrap(line, max(w, 10), ""), "\n")
	if p.Why != "" {
		for i, l := range strings.Split(ansi.Wordwrap(p.Why, max(w-6, 10), ""), "\n") {
			pre := "  why "
			if i > 0 {
				pre = "      "
			}
			lines = append(lines, st.Subtle.Render(pre+l))
		}
	}
	return lines
}
