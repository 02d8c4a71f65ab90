package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/ssh"
)

// roomJSON is `ssh instructor@HOST status`: the board as data.
type roomJSON struct {
	Schema   int           `json:"schema"`
	Address  string        `json:"address"`
	StuckMS  float64       `json:"stuck_after_ms"`
	Learners []learnerJSON `json:"learners"`
}

type learnerJSON struct {
	Name       string  `json:"name"`
	Account    string  `json:"account"`
	Connected  bool    `json:"connected"`
	Reporting  bool    `json:"reporting"` // the lab is up and reports
	Lesson     string  `json:"lesson"`
	Step       int     `json:"step"` // from 1, as the learner sees it; 0 in the catalog
	Steps      int     `json:"steps"`
	Passed     int     `json:"checks_passed"`
	Failed     int     `json:"checks_failed"`
	StepPassed bool    `json:"step_passed"`
	StepFailed bool    `json:"step_failed"`
	Running    bool    `json:"running"`
	Done       bool    `json:"done"`
	Stuck      bool    `json:"stuck"`
	OnStepMS   float64 `json:"on_step_ms"`
	FailingMS  float64 `json:"failing_ms"`
	PID        int     `json:"pid"`
}

// instructorCommand runs `ssh instructor@HOST CMD`: status (the room as
// JSON), or move LESSON [STEP] (step from 1).
func (s *server) instructorCommand(sess ssh.Session) {
	args := sess.Command()
	switch {
	case args[0] == "status" && len(args) == 1:
		now := time.Now()
		out := roomJSON{Schema: jsonSchema, Address: s.addr, StuckMS: millis(s.room.Stuck()), Learners: []learnerJSON{}}
		for _, in := range s.room.Snapshot() {
			st := in.Status
			l := learnerJSON{Name: in.Name, Account: in.Account, Connected: in.Connected, Reporting: in.Reporting, Lesson: st.Lesson, Steps: st.Steps,
				Passed: st.Passed, Failed: st.Failed, StepPassed: st.StepPassed, StepFailed: st.StepFailed, Running: st.Running,
				Done: st.Done, Stuck: in.Stuck, OnStepMS: millis(now.Sub(in.StepSince)), PID: in.PID}
			if st.Lesson != "" {
				l.Step = st.Step + 1
			}
			if !in.FailSince.IsZero() {
				l.FailingMS = millis(now.Sub(in.FailSince))
			}
			out.Learners = append(out.Learners, l)
		}
		writeJSON(sess, out)
		sess.Exit(0)
	case args[0] == "move" && (len(args) == 2 || len(args) == 3):
		step := 1
		if len(args) == 3 {
			n, err := strconv.Atoi(args[2])
			if err != nil || n < 1 {
				refuse(sess, 2, "%q is not a step number: move LESSON STEP, like move veth 3", args[2])
				return
			}
			step = n
		}
		if err := checkMove(args[1], step-1); err != nil {
			refuse(sess, 2, "%v", err)
			return
		}
		n := s.room.Move(args[1], step-1)
		fmt.Fprintf(sess, "moved %d learner(s) to %s, step %d\n", n, args[1], step)
		sess.Exit(0)
	default:
		refuse(sess, 2, "the board knows status and move LESSON STEP, not %q (or connect without a command for the board)", strings.Join(args, " "))
	}
}
