package scenarios

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/script"
)

// The shell a lesson stands for: each step's commands and checks as the
// commands a person would type (iproute2, unshare, nsenter, socat, curl),
// rendered from the language's registry, so what a step shows as sh and
// what `nslab run --record FILE.sh` writes are one text; and a step's
// hand-written sh block beside it, checked to name only what the lab makes.

// stepStmts is what a step runs, in order, as a script replays it: its lab
// block, what a learner types in a hands-on step or a challenge's
// solution, then its checks.
func (st *Step) stepStmts() []script.Stmt {
	return slices.Concat(st.Lab, st.Unattended, st.Solution, st.Check)
}

// render walks the lesson's steps with one renderer, so that a name means
// what earlier steps made it; it returns each step's shell and the
// renderer (for the teardown). A step this machine cannot run (Skip) is a
// comment.
func (s *Scenario) render(names script.SysNames) ([]string, *script.Sh) {
	x := script.NewSh(names)
	var all []script.Stmt
	for i := range s.Steps {
		if s.Steps[i].Skip == "" {
			all = append(all, s.Steps[i].stepStmts()...)
		}
	}
	x.Plan(all)
	out := make([]string, len(s.Steps))
	for i := range s.Steps {
		st := &s.Steps[i]
		if st.Skip != "" {
			out[i] = "# skipped: " + st.Skip + "\n"
			continue
		}
		out[i] = x.Lines(st.stepStmts())
	}
	return out, x
}

// StmtShells returns the shell of every statement the lesson runs, keyed
// by its file line, rendered in order as StepShells renders it.
func (s *Scenario) StmtShells(names script.SysNames) map[int]string {
	x := script.NewSh(names)
	var all []script.Stmt
	for i := range s.Steps {
		all = append(all, s.Steps[i].stepStmts()...)
	}
	x.Plan(all)
	out := map[int]string{}
	for _, st := range all {
		out[st.Line] = x.Line(st)
	}
	return out
}

// StepShells returns the shell of every step, with the system names given.
func (s *Scenario) StepShells(names script.SysNames) []string {
	out, _ := s.render(names)
	return out
}

// ShellScript is the whole lesson as a bash script that runs on its own as
// root: every command, every check as a test that stops the script with ✗
// and the check's line, and a teardown, on any exit, that ends what it
// started and removes the namespaces and host links it made.
func (s *Scenario) ShellScript(names script.SysNames) string {
	steps, x := s.render(names)
	var b strings.Builder
	fmt.Fprintf(&b, `#!/bin/bash
# %s — %s
#
# What `+"`nslab run %s`"+` does, as the commands a person would type:
# iproute2, unshare and nsenter, socat and curl (and nslab's own proxy
# daemon where the lesson runs it). Each check is a test that stops the
# script with ✗ and the check when it does not hold.
#
# Run it as root, on a machine you may experiment on: bash %s.sh
# It removes what it made when it ends, however it ends.
set -eu
RUN=$(mktemp -d) # scratch: logs, control sockets, built programs
fail() { echo "✗ $*" >&2; exit 1; }
killtree() { # a process and all it started (socat's fork children too)
	kill -STOP "$1"
	for c in $(pgrep -P "$1"); do killtree "$c"; done
	kill -9 "$1"
}
teardown() {
	set +e
	exec 2>/dev/null # quiet: what is gone already need not be removed
	for p in $(jobs -p); do killtree "$p"; done
`, s.ID, s.Title, s.ID, s.ID)
	undo := x.Teardown()
	// Processes first: a namespace or a veth is gone only once nothing
	// holds it.
	slices.SortStableFunc(undo, func(a, b string) int {
		return boolInt(!strings.HasPrefix(a, "kill")) - boolInt(!strings.HasPrefix(b, "kill"))
	})
	wrote := false
	for _, u := range undo {
		if !wrote && !strings.HasPrefix(u, "kill") {
			b.WriteString("\twait\n")
			wrote = true
		}
		b.WriteString("\t" + strings.ReplaceAll(u, "\n", "\n\t") + "\n")
	}
	if !wrote {
		b.WriteString("\twait\n")
	}
	b.WriteString("\trm -rf \"$RUN\"\n}\ntrap teardown EXIT\ntrap 'exit 130' INT TERM\n")
	b.WriteString(x.Helpers())
	if vars := s.nameVars(names); len(vars) > 0 {
		b.WriteString("# The names a lab's exec (and nslab shell) gives a command: $NS_NAME\n")
		for _, v := range vars {
			b.WriteString("export " + v + "\n")
		}
	}
	for i, st := range s.Steps {
		fmt.Fprintf(&b, "\necho %s\n%s", quoteSh(fmt.Sprintf("── %d. %s", i+1, st.Title)), steps[i])
	}
	fmt.Fprintf(&b, "\necho %s\n", quoteSh("✓ "+s.ID+": every check held"))
	return b.String()
}

// nsVarRe finds the $NS_NAME variables a command uses.
var nsVarRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\$\{?NS_([A-Za-z0-9_]+)`) })

// nameVars is NS_NAME=SYSNAME for each namespace of the lesson that one of
// its commands names as $NS_NAME, as the lab's exec sets them.
func (s *Scenario) nameVars(names script.SysNames) []string {
	used := map[string]bool{}
	byVar := map[string]string{}
	for i := range s.Steps {
		for _, st := range s.Steps[i].stepStmts() {
			for _, m := range nsVarRe().FindAllStringSubmatch(st.Text, -1) {
				used[m[1]] = true
			}
			for _, d := range st.Defs {
				if d.Kind == script.KindNetns {
					byVar[lab.VarName(d.Name)] = names.Netns(d.Name)
				}
			}
		}
	}
	var out []string
	for v, sys := range byVar {
		if used[v] {
			out = append(out, "NS_"+v+"="+sys)
		}
	}
	slices.Sort(out)
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// quoteSh single-quotes a string for the shell.
func quoteSh(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

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
var nsWordRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?:\bip\s+netns\s+(?:exec|add|del|delete|identify|pids|set|attach)\s+|\bip\s+(?:-[a-z]+\s+)*-n(?:etns)?\s+|\blink\s+set\s+\S+\s+(?:\S+\s+)*?netns\s+|/run/netns/)([^\s'"/;|&)]+)`)
})

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
		for _, x := range slices.Concat(st.Lab, st.Unattended, st.Solution, st.Check) {
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
			for _, m := range nsWordRe().FindAllStringSubmatchIndex(code, -1) {
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
