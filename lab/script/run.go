package script

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nslab/nslab/lab"
)

// Result is what one statement did.
type Result struct {
	Stmt    Stmt
	Output  string
	Err     error // for a check: it did not hold (a *CheckError) or could not be checked
	Elapsed time.Duration
}

// OK reports whether the command worked or the check held.
func (r Result) OK() bool { return r.Err == nil }

// Seen is what a check saw, in a few words: the part in parentheses of
// "✓ DESC (SEEN)", or the message of one that did not hold (the live
// answer a prediction is set beside).
func (r Result) Seen() string {
	if r.Err != nil {
		return r.Err.Error()
	}
	out := r.Output
	if j := strings.LastIndex(out, " ("); j >= 0 && strings.HasSuffix(out, ")") {
		return out[j+2 : len(out)-1]
	}
	return strings.TrimPrefix(out, "✓ ")
}

// IsCheck reports whether the statement is an assertion.
func (r Result) IsCheck() bool { return r.Stmt.Cmd != nil && r.Stmt.Cmd.IsCheck }

// Runner executes statements against a session. Run one command at a time
// (the TUI does so from a tea.Cmd); a check may run while a command does
// (a hands-on step waits for the learner while the learner types at the
// lab prompt): checks only read the session and Env, whose accessors are
// safe for concurrent use.
type Runner struct {
	Env *Env
	// OnResult, if set, is called after each statement (progress for the
	// TUI and `nslab run`).
	OnResult func(Result)
	// OnProgress, if set, is called while a statement that works through
	// many names (netns add t{1..300}) goes: done of total, on the
	// goroutine running it.
	OnProgress func(st Stmt, done, total int)
	// Policy, if set, judges the programs a typed line runs (RunLine):
	// nslab serve gives learners an allowlist instead of a shell. The
	// lessons' own blocks are the catalog's and run as written.
	Policy *Policy
}

// NewRunner returns a runner over a session.
func NewRunner(s *lab.Session) *Runner { return &Runner{Env: NewEnv(s)} }

// Exec runs one statement.
func (r *Runner) Exec(ctx context.Context, st Stmt) Result {
	t0 := time.Now()
	var out string
	var err error
	if !st.Cmd.IsCheck {
		// (A check may wait, within, for what the learner is about to
		// create: it reports a missing name itself.)
		err = r.checkLive(st)
	}
	if err == nil {
		if r.OnProgress != nil {
			r.Env.progress = func(done, total int) { r.OnProgress(st, done, total) }
		}
		out, err = st.Action.Run(ctx, r.Env)
		err = lab.ExplainLimit(err)
		r.Env.progress = nil
	}
	res := Result{Stmt: st, Output: out, Err: err, Elapsed: time.Since(t0)}
	if out != "" && !res.IsCheck() {
		r.Env.setOutputOf(out, st.Text)
	}
	if r.OnResult != nil {
		r.OnResult(res)
	}
	return res
}

// RunLine parses and runs one line typed at a prompt. A parse error comes
// back as a *SyntaxError (with the column for a caret) and nothing runs.
func (r *Runner) RunLine(ctx context.Context, line string) (Result, error) {
	st, err := ParseLine("<prompt>", 1, line)
	if err != nil {
		return Result{}, err
	}
	if st == nil {
		return Result{}, nil
	}
	if r.Policy != nil && st.Program != nil {
		if err := r.Policy.Allow(st.Program); err != nil {
			res := Result{Stmt: *st, Err: err}
			if r.OnResult != nil {
				r.OnResult(res)
			}
			return res, nil
		}
	}
	return r.Exec(ctx, *st), nil
}

// Run runs commands in order and stops at the first that fails (later ones
// usually depend on it); checks all run, so a learner sees every ✗.
func (r *Runner) Run(ctx context.Context, stmts []Stmt) []Result {
	var out []Result
	for _, st := range stmts {
		if ctx.Err() != nil {
			break
		}
		res := r.Exec(ctx, st)
		out = append(out, res)
		if res.Err != nil && !res.IsCheck() {
			break
		}
	}
	return out
}

// AllOK reports whether every result succeeded and every statement ran.
func AllOK(stmts []Stmt, rs []Result) bool {
	if len(rs) != len(stmts) {
		return false
	}
	for _, r := range rs {
		if r.Err != nil {
			return false
		}
	}
	return true
}

// IsCheckFailure reports whether err is a check that did not hold (as
// opposed to a command or setup error).
func IsCheckFailure(err error) bool {
	var ce *CheckError
	return errors.As(err, &ce)
}

// Close releases what the run opened (sockets). The session is the
// caller's to close.
func (r *Runner) Close() { r.Env.Close() }

// Completions lists words a prompt can complete: command names, the lab's
// namespaces, the links in them, spawned children, proxies and open
// sockets, without duplicates. It asks the kernel for links: call it from a
// tea.Cmd, not from Update.
func (r *Runner) Completions() []string {
	out := Names()
	nss := r.Env.S.NetnsList()
	out = append(out, nss...)
	for _, p := range r.Env.S.Procs() {
		out = append(out, p.Name)
	}
	for _, ns := range nss {
		if links, err := r.Env.S.Links(ns); err == nil {
			for _, l := range links {
				out = append(out, l.Name)
			}
		}
	}
	out = append(append(out, r.Env.Sockets()...), r.Env.Proxies()...)
	slices.Sort(out)
	return slices.Compact(out)
}

// Shell is a statement's shell as a learner types it beside this running
// lab (a hands-on command, a line of the free lab): a name that is one of
// the lab's children or proxies is addressed as one, by its PID, as the
// lesson's rendering in order does, and the real number stands in for
// $PID_OF_NAME.
func (e *Env) Shell(st Stmt) string {
	var procs []string
	for _, p := range e.S.Procs() {
		procs = append(procs, p.Name)
	}
	return e.WithPIDs(NewSh(HostNames()).Knowing(procs...).Line(st))
}

// WithPIDs puts the PID of each child the lab has in place of its
// $PID_OF_NAME in a shell line, so that a learner can type it as it is.
func (e *Env) WithPIDs(sh string) string {
	procs := e.S.Procs()
	// Longer names first: $PID_OF_C10 before $PID_OF_C1.
	slices.SortFunc(procs, func(a, b *lab.Proc) int { return len(b.Name) - len(a.Name) })
	for _, p := range procs {
		sh = strings.ReplaceAll(sh, PIDVar(p.Name), strconv.Itoa(p.PID))
	}
	return sh
}
