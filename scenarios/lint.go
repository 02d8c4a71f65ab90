package scenarios

import (
	"github.com/nslab/nslab/lab/script"
)

// lint finds what a scenario that parses may still get wrong for a
// learner: `nslab lint` prints these as warnings, and the built-in catalog
// has none.
func lint(sc *Scenario) []error {
	var out []error
	warn := func(line, col int, msg string) {
		out = append(out, &script.SyntaxError{File: sc.File, Line: line, Col: col, Msg: "warning: " + msg})
	}
	for i := range sc.Steps {
		st := &sc.Steps[i]
		if (st.Waits() || st.Learner()) && st.Hint == "" {
			warn(st.Line, 4, "step \""+st.Title+"\" waits for the learner but has no hint: add a ```hint block saying what to try when the wait runs out")
		}
		if st.Learner() && !st.Waits() {
			warn(st.Line, 4, "step \""+st.Title+"\" asks the learner to act, but none of its checks waits: add `within 60s` (or more) to the check that sees what they do")
		}
		for _, c := range st.Check {
			if c.Within() > 0 && c.CheckKind() == "output" {
				warn(c.Line, c.Col, "a waiting `expect output` sees only the output of the lab's own commands: a learner's command in a second terminal never changes it, so the step passes only unattended; check what the kernel shows instead (link, netns, sockets, accepted, received, holders)")
			}
		}
	}
	return out
}
