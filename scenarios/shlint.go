package scenarios

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/script"
)

// shBlock is a hand-written ```sh block and the file line of its first
// line.
type shBlock struct {
	line int
	text string
}

// fillShell sets each step's Sh: its statements rendered as shell, with
// the names of a lab on the machine, then its hand-written sh block.
func (s *Scenario) fillShell() {
	for i, sh := range s.StepShells(script.HostNames()) {
		st := &s.Steps[i]
		st.Sh = strings.TrimRight(sh, "\n")
		if st.ShExtra != "" {
			st.Sh = joinBlock(st.Sh, st.ShExtra)
		}
	}
}

// nsWordRe finds the words of a shell line that name a network namespace:
// ip netns exec|add|del NAME, ip -n NAME, ip -netns NAME, `netns NAME` in
// ip link, and /run/netns/NAME paths.
var nsWordRe = regexp.MustCompile(`(?:\bip\s+netns\s+(?:exec|add|del|delete|identify|pids|set|attach)\s+|\bip\s+(?:-[a-z]+\s+)*-n(?:etns)?\s+|\blink\s+set\s+\S+\s+(?:\S+\s+)*?netns\s+|/run/netns/)([^\s'"/;|&)]+)`)

// lintSh reports every namespace a hand-written sh block names that the
// lesson's lab does not make: a shell line for the wrong namespace teaches
// the wrong thing. A name counts if the lab makes it (netns add, spawn) by
// the name the lesson uses or by its system name; a variable ($PID) or a
// PID is fine.
func lintSh(file string, blocks []shBlock, sc *Scenario) []error {
	if len(blocks) == 0 {
		return nil
	}
	var made, sys []string // the lesson's names, and the system's
	for _, st := range sc.Steps {
		for _, x := range slices.Concat(st.Lab, st.Unattended, st.Check) {
			for _, d := range x.Defs {
				if d.Kind == script.KindNetns || d.Kind == script.KindProc {
					made = append(made, d.Name)
					sys = append(sys, lab.SysName(d.Name))
				}
			}
		}
	}
	var errs []error
	for _, b := range blocks {
		for i, line := range strings.Split(b.text, "\n") {
			code, _, _ := strings.Cut(line, "#")
			for _, m := range nsWordRe.FindAllStringSubmatchIndex(code, -1) {
				name := code[m[2]:m[3]]
				if strings.Contains(name, "$") || isDigits(name) || lab.IsHost(name) || slices.Contains(made, name) || slices.Contains(sys, name) {
					continue
				}
				msg := fmt.Sprintf("the sh block names namespace %q, which this lesson's lab does not make", name)
				if len(sys) > 0 {
					some := slices.Compact(slices.Clone(sys))
					if len(some) > 4 {
						some = append(some[:4:4], fmt.Sprintf("… (%d in all)", len(sys)))
					}
					msg += fmt.Sprintf(" (it makes %s)%s", strings.Join(some, ", "), script.DidYouMean(name, sys))
				}
				errs = append(errs, &script.SyntaxError{File: file, Line: b.line + i, Col: m[2] + 1, Msg: msg})
			}
		}
	}
	return errs
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
