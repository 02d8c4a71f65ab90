package ui

import (
	tea "charm.land/bubbletea/v2"
)

// RoomStatus is what a learner's UI tells the room it is part of (nslab
// serve): where the learner is and how the current lesson goes.
type RoomStatus struct {
	Lesson string `json:"lesson,omitempty"` // "" in the catalog
	Title  string `json:"title,omitempty"`
	Step   int    `json:"step"` // from 0
	Steps  int    `json:"steps"`
	// Passed and Failed count the checks of this visit to the lesson
	// that held and that did not, as last run.
	Passed int `json:"passed"`
	Failed int `json:"failed"`
	// StepFailed: the current step's last run failed (a command or a
	// check); StepPassed: it passed.
	StepFailed bool `json:"step_failed,omitempty"`
	StepPassed bool `json:"step_passed,omitempty"`
	Running    bool `json:"running,omitempty"`
	Done       bool `json:"done,omitempty"` // the lesson is complete
}

// GotoMsg moves the UI to a step of a lesson (the instructor moving the
// room: "everyone: veth, step 3"). Step counts from 0.
type GotoMsg struct {
	Lesson string
	Step   int
}

// RoomStatus reports where the learner is; cheap, for a caller to compare
// after each update.
func (m *App) RoomStatus() RoomStatus {
	if !m.inLesson || m.screen == scCatalog {
		return RoomStatus{}
	}
	l := &m.lesson
	st := RoomStatus{Lesson: l.sc.ID, Title: l.sc.Title, Step: l.step, Steps: len(l.sc.Steps), Running: l.Busy()}
	for _, s := range l.states {
		for _, c := range s.checks {
			switch c.st {
			case stOK:
				st.Passed++
			case stFailed:
				st.Failed++
			}
		}
	}
	if l.step < len(l.states) {
		s := l.states[l.step]
		st.StepFailed = s.ran && !l.running && !s.passed && (s.failed >= 0 || s.checkFailed())
		st.StepPassed = s.passed
	}
	if lp := m.progress.Scenarios[l.sc.ID]; lp != nil {
		st.Done = lp.Done
	}
	return st
}

// Goto opens lesson at step (from 0), as a GotoMsg asks: the lab is
// rebuilt to the state of the steps before it.
func (m *App) Goto(msg GotoMsg) tea.Cmd {
	if m.inLesson && m.lesson.sc.ID == msg.Lesson && msg.Step >= 0 && msg.Step < len(m.lesson.sc.Steps) {
		m.lesson.Cancel()
		m.lesson.running = false
		m.screen, m.showHelp = scLesson, false
		return m.lesson.goTo(msg.Step)
	}
	lp := m.progress.Lesson(msg.Lesson)
	lp.Step, lp.Done = max(msg.Step, 0), false
	m.showHelp = false
	return m.open(msg.Lesson)
}
