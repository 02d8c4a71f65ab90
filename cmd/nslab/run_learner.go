package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/nslab/nslab/lab/script"
	"github.com/nslab/nslab/scenarios"
)

// What `nslab run` does for a learner at the keyboard: it asks a step's
// prediction before running it, shows what to type for a hands-on step,
// reveals a challenge's hints one at a time while the step waits, and
// then sets the guess beside what the kernel showed. --yes does none of
// it (nobody is there); --json carries the question and, when asked, the
// guess.

// predictReport is a step's question in --json.
type predictReport struct {
	Question string   `json:"question"`
	Kind     string   `json:"kind"`
	Choices  []string `json:"choices,omitempty"`
	Answer   string   `json:"answer"`
	Why      string   `json:"why,omitempty"`
	Guess    string   `json:"guess,omitempty"` // absent: not asked (--yes, --json) or not answered
	Right    *bool    `json:"right,omitempty"`
	Seen     string   `json:"seen,omitempty"` // the live result: the see check's output
}

func newPredictReport(p *scenarios.Predict) *predictReport {
	return &predictReport{Question: p.Question, Kind: p.Kind, Choices: p.Choices, Answer: p.AnswerText(), Why: p.Why}
}

// askPredict asks the question until the answer reads, and records it.
// End of input, or Ctrl-C, leaves it unanswered: a question is never
// answered by end-of-input.
func askPredict(ctx context.Context, w io.Writer, lines <-chan string, p *scenarios.Predict, rep *predictReport) {
	fmt.Fprintf(w, "\n  ? predict before it runs: %s\n", indentText(p.Prompt(), "    ")[4:])
	for {
		fmt.Fprint(w, "  your guess: ")
		var line string
		var ok bool
		select {
		case line, ok = <-lines:
		case <-ctx.Done():
		}
		if !ok {
			fmt.Fprintln(w, "\n  (no answer: the step runs without your guess)")
			return
		}
		text, right, err := p.Judge(line)
		if err != nil {
			fmt.Fprintf(w, "  %v\n", err)
			continue
		}
		rep.Guess, rep.Right = text, &right
		return
	}
}

// showPredict sets the guess beside the answer and what the kernel showed.
func showPredict(w io.Writer, rep *predictReport) {
	guess := "no guess"
	if rep.Guess != "" {
		mark := "✗"
		if *rep.Right {
			mark = "✓"
		}
		guess = fmt.Sprintf("%s you guessed %s", mark, rep.Guess)
	}
	fmt.Fprintf(w, "  %s · the answer: %s", guess, rep.Answer)
	if rep.Seen != "" {
		fmt.Fprintf(w, " · the kernel: %s", rep.Seen)
	}
	fmt.Fprintln(w)
	if rep.Why != "" {
		fmt.Fprintf(w, "    why: %s\n", rep.Why)
	}
}

// seenOf is the live result of check i.
func seenOf(res scenarios.StepResult, i int) string {
	if i < 0 || i >= len(res.Checks) {
		return ""
	}
	return res.Checks[i].Seen()
}

// labOnly reports whether the learner's part of a step needs the lab's
// prompt (a socket or a child of the lab's own), which nslab run has not.
func labOnly(st *scenarios.Step) bool {
	for _, c := range slices.Concat(st.Unattended, st.Solution) {
		if c.Cmd.LabOnly {
			return true
		}
	}
	return false
}

// showWhatToType prints the commands a hands-on step waits for: their
// iproute2/nsenter form for a second terminal.
func showWhatToType(w io.Writer, r *script.Runner, st *scenarios.Step) {
	fmt.Fprintln(w, "  hands-on: in a second terminal, `nslab shell` (`sudo nslab shell` if this lab runs under sudo), then type:")
	for _, c := range st.Unattended {
		fmt.Fprintf(w, "    %s\n", strings.ReplaceAll(r.Env.Shell(c), "\n", "\n    "))
	}
	fmt.Fprintln(w, "  (the checks wait for the kernel to show it)")
}

// hintsWhileWaiting reveals a challenge's hints, one per line the learner
// enters, then its solution, until done is closed. Only lines read before
// done are taken from lines.
func hintsWhileWaiting(w io.Writer, r *script.Runner, lines <-chan string, st *scenarios.Step, done <-chan struct{}) {
	fmt.Fprintf(w, "  challenge: the goal is above; it is checked by what the kernel shows.\n  [enter] reveals a hint (%d), then the solution.\n", len(st.Hints))
	shown := 0
	for {
		select {
		case <-done:
			return
		case _, ok := <-lines:
			if !ok {
				return
			}
			switch {
			case shown < len(st.Hints):
				fmt.Fprintf(w, "  hint %d/%d: %s\n", shown+1, len(st.Hints), indentText(st.Hints[shown], "    ")[4:])
			case shown == len(st.Hints):
				fmt.Fprintln(w, "  solution (in the lab's language; a second terminal takes its shell form):")
				for _, c := range st.Solution {
					fmt.Fprintf(w, "    %s\n      $ %s\n", c.Text, strings.ReplaceAll(r.Env.Shell(c), "\n", "\n        "))
				}
			default:
				fmt.Fprintln(w, "  (that was the solution; the step waits for the kernel to show it)")
			}
			shown++
		}
	}
}

// learnerKind names what the learner does in a step, for --json.
func learnerKind(st *scenarios.Step) string {
	switch {
	case st.Challenge():
		return "challenge"
	case st.HandsOn():
		return "hands-on"
	}
	return ""
}

// withPredict wraps a step's run with the learner's part: the question
// before, the hints during, the answer after.
func withPredict(ctx context.Context, w io.Writer, r *script.Runner, st *scenarios.Step, o runOptions, sr *stepReport, run func(unattended bool) scenarios.StepResult) scenarios.StepResult {
	attended := !o.yes && !o.asJSON && o.lines != nil
	if st.Predict != nil {
		sr.Predict = newPredictReport(st.Predict)
		if attended {
			askPredict(ctx, w, o.lines, st.Predict, sr.Predict)
		}
	}
	if attended && st.Learner() && labOnly(st) {
		// What the learner would type at the TUI's lab prompt: nslab run
		// has none, so the lab does it.
		fmt.Fprintln(w, "  (your part needs the lab's prompt, which the TUI has; here the lab does it:)")
		for _, c := range slices.Concat(st.Unattended, st.Solution) {
			fmt.Fprintf(w, "    %s\n", c.Text)
		}
		attended = false
	}
	if attended && st.HandsOn() {
		showWhatToType(w, r, st)
	}
	var res scenarios.StepResult
	if attended && st.Challenge() {
		done := make(chan struct{})
		finished := make(chan struct{})
		go func() { hintsWhileWaiting(w, r, o.lines, st, done); close(finished) }()
		res = run(false)
		close(done)
		<-finished
	} else {
		res = run(o.yes || !attended && st.Learner())
	}
	if sr.Predict != nil {
		sr.Predict.Seen = seenOf(res, st.SeeIndex())
		if attended {
			showPredict(w, sr.Predict)
		}
	}
	return res
}
