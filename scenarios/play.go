package scenarios

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/nslab/nslab/lab/script"
)

// EventKind says what a step is doing.
type EventKind int

const (
	CommandStarted EventKind = iota // a lab (or unattended) statement begins
	CommandDone                     // ... and ended: Result is set
	CheckStarted                    // a check begins (it may wait: Stmt.Within)
	CheckDone                       // ... and ended: Result is set
)

// Event is progress within a step, for a UI that shows each line as it
// runs (a `within 60s` check can take a minute).
type Event struct {
	Kind   EventKind
	Index  int // into StepResult.Commands or .Checks
	Stmt   script.Stmt
	Result script.Result // for CommandDone and CheckDone
}

// StepOptions say how a step runs.
type StepOptions struct {
	// Unattended also runs the step's `lab unattended` block, after its lab
	// block: nobody is at the keyboard to type what a hands-on step asks
	// (nslab run --yes, CI), so the lab does it and the checks still hold.
	Unattended bool
	// From skips the step's first From commands (a UI resuming a step
	// after a failed command was fixed by hand).
	From int
	// OnEvent, if set, is called before and after each statement, on the
	// goroutine running the step.
	OnEvent func(Event)
	// Lock, if set, is held around each statement except a check that
	// waits (`within`): while the step waits for the learner, the learner's
	// own commands at the lab prompt run on the same runner.
	Lock sync.Locker
}

// StepResult is what running a step did.
type StepResult struct {
	Commands []script.Result // in order; stops at the first that failed
	Checks   []script.Result // every check, unless a command failed
	// NotRun are the checks skipped because a command failed.
	NotRun []script.Stmt
	// Skipped says why the whole step did not run (Step.Skip): it counts
	// as passed, because the machine, not the learner, lacks something.
	Skipped string
	OK      bool
}

// Failed lists the failed commands and checks.
func (r StepResult) Failed() []script.Result {
	var out []script.Result
	for _, x := range slices.Concat(r.Commands, r.Checks) {
		if x.Err != nil {
			out = append(out, x)
		}
	}
	return out
}

// Commands returns what the step runs: its lab block, then, unattended,
// its `lab unattended` block or its solution.
func (st *Step) Commands(unattended bool) []script.Stmt {
	if !unattended {
		return st.Lab
	}
	return slices.Concat(st.Lab, st.Unattended, st.Solution)
}

// HandsOn reports whether the step asks the learner to type something it
// shows (it has a `lab unattended` block for when nobody is there).
func (st *Step) HandsOn() bool { return len(st.Unattended) > 0 }

// Challenge reports whether the step states a goal without its command:
// hints one at a time, then its solution.
func (st *Step) Challenge() bool { return len(st.Solution) > 0 }

// Learner reports whether the learner does the step: hands-on or a
// challenge.
func (st *Step) Learner() bool { return st.HandsOn() || st.Challenge() }

// Waits reports whether one of the step's checks waits for what the
// learner does (`within`).
func (st *Step) Waits() bool {
	for _, c := range st.Check {
		if c.Within() > 0 {
			return true
		}
	}
	return false
}

// Run runs the step's commands, stopping at the first that fails (later
// ones depend on it), then, if they all worked, every check (so a learner
// sees every ✗). It runs on the calling goroutine; r runs one statement at
// a time.
func (st *Step) Run(ctx context.Context, r *script.Runner, o StepOptions) StepResult {
	res := StepResult{OK: true}
	if st.Skip != "" {
		res.Skipped = st.Skip
		return res
	}
	emit := func(e Event) {
		if o.OnEvent != nil {
			o.OnEvent(e)
		}
	}
	cmds := st.Commands(o.Unattended)
	for i := min(max(o.From, 0), len(cmds)); i < len(cmds); i++ {
		if ctx.Err() != nil {
			res.OK = false
			break
		}
		emit(Event{Kind: CommandStarted, Index: len(res.Commands), Stmt: cmds[i]})
		x := execLocked(ctx, r, cmds[i], o.Lock)
		res.Commands = append(res.Commands, x)
		emit(Event{Kind: CommandDone, Index: len(res.Commands) - 1, Stmt: cmds[i], Result: x})
		if x.Err != nil {
			res.OK = false
			break
		}
	}
	if !res.OK {
		res.NotRun = st.Check
		return res
	}
	for _, c := range st.Check {
		emit(Event{Kind: CheckStarted, Index: len(res.Checks), Stmt: c})
		lock := o.Lock
		if c.Within() > 0 {
			lock = nil
		}
		x := execLocked(ctx, r, c, lock)
		res.Checks = append(res.Checks, x)
		emit(Event{Kind: CheckDone, Index: len(res.Checks) - 1, Stmt: c, Result: x})
		if x.Err != nil {
			res.OK = false
		}
	}
	return res
}

func execLocked(ctx context.Context, r *script.Runner, st script.Stmt, lock sync.Locker) script.Result {
	if lock != nil {
		lock.Lock()
		defer lock.Unlock()
	}
	return r.Exec(ctx, st)
}

// Rebuild quietly runs the commands of steps [0, upTo), unattended blocks
// included: the state a learner jumping to step upTo (`nslab run --from`,
// the TUI's jump) would have built. It stops at the first error. The
// runner should be fresh (or its session reset).
func (s *Scenario) Rebuild(ctx context.Context, r *script.Runner, upTo int) error {
	for i := 0; i < upTo && i < len(s.Steps); i++ {
		st := &s.Steps[i]
		if st.Skip != "" {
			continue
		}
		for _, c := range st.Commands(true) {
			if err := ctx.Err(); err != nil {
				return err
			}
			if x := r.Exec(ctx, c); x.Err != nil {
				return fmt.Errorf("rebuilding step %d (%s): %s:%d: `%s`: %w", i+1, st.Title, c.File, c.Line, c.Text, x.Err)
			}
		}
	}
	return nil
}
