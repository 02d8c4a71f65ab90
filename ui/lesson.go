package ui

import (
	"context"
	"fmt"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/ui/common"
)

// status of one command or check of a step.
type status int

const (
	stPending status = iota
	stRunning
	stWaiting // an `expect … within` still polling
	stOK
	stFailed
	stSkipped
)

type cmdState struct {
	st     status
	output string
	err    string
	col    int
}

type checkState struct {
	st     status
	detail string
}

// stepState is what the learner has seen of one step in this visit.
type stepState struct {
	cmds    []cmdState
	checks  []checkState
	ran     bool
	failed  int // index of the failed command, -1 if none
	passed  bool
	skipped string // why this machine could not run the step
}

func newStepState(s Step) stepState {
	return stepState{cmds: make([]cmdState, len(s.Commands)), checks: make([]checkState, len(s.Checks)), failed: -1}
}

func (s stepState) checkFailed() bool {
	for _, c := range s.checks {
		if c.st == stFailed {
			return true
		}
	}
	return false
}

// Messages of the lesson's commands. run numbers a run so that the events
// of a cancelled one are dropped.
type (
	prepareDoneMsg struct {
		run  int
		step int
		err  error
	}
	stepEventMsg struct {
		run int
		ev  Event
		ch  <-chan Event
	}
	stepDoneMsg struct{ run int }
	// refreshMsg asks the root for a snapshot now (something changed).
	refreshMsg struct{}
)

// Lesson is one scenario, step by step: narration, the step's commands
// with their sh and go equivalents, their outputs, and the checks.
type Lesson struct {
	c        *common.Common
	keys     LessonKeys
	lab      Lab
	md       *markdown
	progress *Progress
	store    *store

	sc        Scenario
	step      int
	states    []stepState
	tab       int       // 0 lab, 1 sh, 2 go
	scroll    *scroller // the narration
	preparing bool
	prepErr   string
	running   bool
	run       int
	cancel    context.CancelFunc
	started   time.Time
	status    string
}

// NewLesson opens sc at step start; the returned command rebuilds the lab
// state of the steps before it.
func NewLesson(c *common.Common, keys LessonKeys, lab Lab, md *markdown, p *Progress, st *store, sc Scenario, start int) (Lesson, tea.Cmd) {
	m := Lesson{c: c, keys: keys, lab: lab, md: md, progress: p, store: st, sc: sc, scroll: newScroller(false)}
	m.states = make([]stepState, len(sc.Steps))
	for i, s := range sc.Steps {
		m.states[i] = newStepState(s)
	}
	start = min(max(start, 0), max(len(sc.Steps)-1, 0))
	return m, m.goTo(start)
}

// Scenario is the open scenario.
func (m Lesson) Scenario() Scenario { return m.sc }

// Step is the step shown (0-based).
func (m Lesson) Step() int { return m.step }

// Busy reports whether the lab is working (preparing or running a step).
func (m Lesson) Busy() bool { return m.preparing || m.running }

// goTo moves to step i and rebuilds the lab state of the steps before it.
func (m *Lesson) goTo(i int) tea.Cmd {
	m.step, m.status, m.prepErr = i, "", ""
	m.scroll.Top()
	m.states[i] = newStepState(m.sc.Steps[i])
	m.preparing = true
	m.run++
	run, lab, id := m.run, m.lab, m.sc.ID
	lp := m.progress.Lesson(id)
	lp.Step = i
	lp.Updated = time.Now()
	return func() tea.Msg {
		return prepareDoneMsg{run: run, step: i, err: lab.Prepare(context.Background(), id, i)}
	}
}

// advance moves on to step i without rebuilding: the lab already holds the
// state of every earlier step.
func (m *Lesson) advance(i int) {
	m.step, m.status = i, ""
	m.scroll.Top()
	m.states[i] = newStepState(m.sc.Steps[i])
	lp := m.progress.Lesson(m.sc.ID)
	lp.Step = i
	lp.Updated = time.Now()
}

// start runs the current step from command index from.
func (m *Lesson) start(from int) tea.Cmd {
	if m.preparing || m.running || len(m.sc.Steps) == 0 {
		return nil
	}
	s := &m.states[m.step]
	for i := from; i < len(s.cmds); i++ {
		s.cmds[i] = cmdState{}
	}
	for i := range s.checks {
		s.checks[i] = checkState{}
	}
	s.ran, s.failed, s.passed, s.skipped = true, -1, false, ""
	m.running = true
	m.started = time.Now()
	m.run++
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	run, lab, id, step := m.run, m.lab, m.sc.ID, m.step
	ch := make(chan Event, 16)
	return func() tea.Msg {
		go lab.RunStep(ctx, id, step, from, ch)
		return waitEvent(run, ch)()
	}
}

func waitEvent(run int, ch <-chan Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return stepDoneMsg{run}
		}
		return stepEventMsg{run: run, ev: ev, ch: ch}
	}
}

func (m *Lesson) apply(ev Event) {
	s := &m.states[m.step]
	switch ev.Kind {
	case CommandStarted:
		if ev.Index < len(s.cmds) {
			s.cmds[ev.Index].st = stRunning
		}
	case CommandDone:
		if ev.Index < len(s.cmds) {
			c := &s.cmds[ev.Index]
			c.output, c.col, c.st = ev.Output, ev.Col, stOK
			if ev.Err != nil {
				c.st, c.err = stFailed, ev.Err.Error()
				s.failed = ev.Index
			}
		}
	case CheckStarted:
		if ev.Index < len(s.checks) {
			s.checks[ev.Index].st = stRunning
		}
	case CheckWaiting:
		if ev.Index < len(s.checks) {
			s.checks[ev.Index] = checkState{st: stWaiting, detail: ev.Detail}
		}
	case CheckDone:
		if ev.Index < len(s.checks) {
			st := stOK
			if !ev.OK {
				st = stFailed
			}
			s.checks[ev.Index] = checkState{st: st, detail: ev.Detail}
		}
	case StepSkipped:
		s.skipped = ev.Detail
	}
}

// finish closes a run: the step passed if no command failed and every check
// held; progress is saved.
func (m *Lesson) finish() tea.Cmd {
	m.running = false
	if m.cancel != nil {
		m.cancel()
		m.cancel = nil
	}
	s := &m.states[m.step]
	s.passed = s.failed < 0 && !s.checkFailed()
	if s.skipped != "" {
		s.passed = true // the machine lacks a feature; the learner did nothing wrong
	}
	for i := range s.cmds {
		if s.cmds[i].st == stRunning {
			s.cmds[i].st = stPending
		}
	}
	for i := range s.checks {
		if s.checks[i].st == stRunning || s.checks[i].st == stWaiting {
			s.checks[i].st = stPending
		}
	}
	lp := m.progress.Lesson(m.sc.ID)
	for len(lp.Passed) < len(m.sc.Steps) {
		lp.Passed = append(lp.Passed, false)
	}
	lp.Passed[m.step] = s.passed
	switch {
	case s.skipped != "" && m.step == len(m.sc.Steps)-1:
		lp.Done = true
		m.status = "○ step skipped: " + s.skipped + " — the lesson is complete"
	case s.skipped != "":
		lp.Step = m.step + 1
		m.status = fmt.Sprintf("○ step %d skipped: %s — enter or n for step %d", m.step+1, s.skipped, m.step+2)
	case s.passed && m.step == len(m.sc.Steps)-1:
		lp.Done = true
		m.status = common.SymOK + " lesson complete — esc for the catalog, R to do it again"
	case s.passed:
		lp.Step = m.step + 1
		m.status = fmt.Sprintf("%s step %d passed — enter or n for step %d", common.SymOK, m.step+1, m.step+2)
	case s.failed >= 0:
		m.status = common.SymFail + " a command failed — r retry, s skip it"
	default:
		m.status = common.SymFail + " a check failed — read the hint, then r to check again"
	}
	lp.Updated = time.Now()
	return tea.Batch(m.store.save(m.progress), func() tea.Msg { return refreshMsg{} })
}

// Cancel stops a running step (the runner sees its context end).
func (m *Lesson) Cancel() {
	if m.cancel != nil {
		m.cancel()
	}
}

// Update handles the lesson's keys and its commands' messages.
func (m Lesson) Update(msg tea.Msg) (Lesson, tea.Cmd) {
	switch msg := msg.(type) {
	case prepareDoneMsg:
		if msg.run != m.run {
			return m, nil
		}
		m.preparing = false
		if msg.err != nil {
			m.prepErr = msg.err.Error()
			m.status = common.SymFail + " could not rebuild the earlier steps — R to restart the lesson"
		}
		return m, func() tea.Msg { return refreshMsg{} }
	case stepEventMsg:
		if msg.run != m.run {
			return m, nil
		}
		m.apply(msg.ev)
		return m, waitEvent(msg.run, msg.ch)
	case stepDoneMsg:
		if msg.run != m.run {
			return m, nil
		}
		return m, m.finish()
	case tea.MouseWheelMsg:
		if msg.Mouse().Button == tea.MouseWheelUp {
			m.scroll.Up(3)
		} else {
			m.scroll.Down(3)
		}
	case tea.MouseClickMsg:
		if t, ok := m.tabAt(msg.Mouse().X, msg.Mouse().Y); ok {
			m.tab = t
		}
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m Lesson) key(msg tea.KeyPressMsg) (Lesson, tea.Cmd) {
	k := m.keys
	if len(m.sc.Steps) == 0 {
		return m, nil
	}
	s := m.states[m.step]
	last := len(m.sc.Steps) - 1
	if m.running {
		if key.Matches(msg, k.Cancel) {
			m.Cancel()
			m.status = "cancelling…"
		}
		switch {
		case key.Matches(msg, k.ScrollUp, k.ScrollDown, k.PageUp, k.PageDown, k.Tab):
		default:
			return m, nil
		}
	}
	switch {
	case key.Matches(msg, k.Run):
		switch {
		case m.preparing:
		case s.passed && m.step < last:
			m.advance(m.step + 1)
		case s.passed:
		case s.failed >= 0:
			return m, m.start(s.failed)
		case s.checkFailed():
			return m, m.start(len(s.cmds))
		default:
			return m, m.start(0)
		}
	case key.Matches(msg, k.Retry):
		switch {
		case s.failed >= 0:
			return m, m.start(s.failed)
		case s.checkFailed():
			return m, m.start(len(s.cmds))
		}
	case key.Matches(msg, k.Skip):
		if s.failed >= 0 && !m.preparing {
			m.states[m.step].cmds[s.failed].st = stSkipped
			return m, m.start(s.failed + 1)
		}
	case key.Matches(msg, k.Next):
		if m.step < last {
			if s.passed {
				m.advance(m.step + 1)
				return m, nil
			}
			return m, m.goTo(m.step + 1)
		}
	case key.Matches(msg, k.Prev):
		if m.step > 0 {
			return m, m.goTo(m.step - 1)
		}
	case key.Matches(msg, k.Jump):
		n := int(msg.String()[0] - '1')
		if n <= last && n != m.step {
			return m, m.goTo(n)
		}
	case key.Matches(msg, k.Restart):
		lp := m.progress.Lesson(m.sc.ID)
		lp.Passed, lp.Done = nil, false
		for i, st := range m.sc.Steps {
			m.states[i] = newStepState(st)
		}
		return m, tea.Batch(m.goTo(0), m.store.save(m.progress))
	case key.Matches(msg, k.Tab):
		m.tab = (m.tab + 1) % 3
	case key.Matches(msg, k.ScrollUp):
		m.scroll.Up(1)
	case key.Matches(msg, k.ScrollDown):
		m.scroll.Down(1)
	case key.Matches(msg, k.PageUp):
		m.scroll.Up(10)
	case key.Matches(msg, k.PageDown):
		m.scroll.Down(10)
	}
	return m, nil
}

// elapsed is how long the current run has been going, for hands-on steps.
func (m Lesson) elapsed() string {
	if !m.running {
		return ""
	}
	return fmt.Sprintf("%ds", int(time.Since(m.started).Seconds()))
}
