package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/script"
	"github.com/nslab/nslab/scenarios"
)

type runOptions struct {
	yes, asJSON, keep, all bool
	from                   string // a step number or title; "" is the first
	record                 string
	show                   []string      // sh, go: print each step's equivalents (--show)
	lines                  <-chan string // stdin, for the pause between steps
}

// Transcript types, for --json and --record.
type cmdReport struct {
	Line   int    `json:"line"`
	Text   string `json:"text"`
	Shell  string `json:"shell"`
	Go     string `json:"go"`
	Output string `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
	OK     bool   `json:"ok"`
	// DurationMs is how long it ran (a check: how long it waited, within).
	DurationMs float64 `json:"duration_ms"`
	cmd        string  // the command's name, for the shell record
}

type stepReport struct {
	N        int         `json:"n"`
	Title    string      `json:"title"`
	Commands []cmdReport `json:"commands"`
	Checks   []cmdReport `json:"checks"`
	Hint     string      `json:"hint,omitempty"`
	Skipped  string      `json:"skipped,omitempty"` // why the step did not run on this machine
	// Kind is what the learner does: "hands-on", "challenge", or "" (the
	// lab does it all).
	Kind    string         `json:"kind,omitempty"`
	Predict *predictReport `json:"predict,omitempty"`
	OK      bool           `json:"ok"`
	// DurationMs is the step's commands and checks, start to end.
	DurationMs float64 `json:"duration_ms"`
}

type runReport struct {
	Schema  int          `json:"schema,omitempty"` // set on its own; in --all, the list has it
	ID      string       `json:"id"`
	Title   string       `json:"title"`
	Skipped string       `json:"skipped,omitempty"`
	Steps   []stepReport `json:"steps"`
	NotRun  int          `json:"not_run,omitempty"` // steps left after a failed command
	// Results is the last table `compare` printed: the comparison lessons
	// close with one.
	Results *script.Table `json:"results,omitempty"`
	OK      bool          `json:"ok"`
	// DurationMs is the whole run: the lab set up, --from's rebuilt steps,
	// every step, the lab removed.
	DurationMs float64 `json:"duration_ms"`
}

// runAllReport is `run --all --json`.
type runAllReport struct {
	Schema     int         `json:"schema"`
	OK         bool        `json:"ok"`
	DurationMs float64     `json:"duration_ms"`
	Runs       []runReport `json:"runs"`
}

func setupRun() {
	var o runOptions
	var show string
	cmd := &cobra.Command{
		Use:   "run ID|FILE",
		Short: "Run a scenario step by step: narration, commands, outputs, checks ✓/✗",
		Long: `run executes a scenario's steps in order, printing each command with its
output and each check as ✓ or ✗ (with the hint when one fails). It pauses
between steps unless --yes, exits 1 if any check failed, and removes the lab
at the end (and on Ctrl-C) unless --keep.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if o.all != (len(args) == 0) || len(args) > 1 {
				return usageErrorf("give one scenario id or file, or --all")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if o.show, err = parseShow(show); err != nil {
				return &exitError{code: 2, err: err}
			}
			if err := checkRecord(o.record, o.all); err != nil {
				return &exitError{code: 2, err: err}
			}
			list, errs := loadCatalog()
			var todo []*scenarios.Scenario
			if o.all {
				for _, err := range errs {
					return fmt.Errorf("the catalog does not lint: %w", err)
				}
				todo = list
			} else {
				sc, err := scenarios.Find(list, args[0])
				var syntax *script.SyntaxError
				if err != nil && !errors.As(err, &syntax) {
					return asUsage(err) // no such scenario or file
				}
				if err != nil {
					return err // a file that does not lint: a failure, as in lint
				}
				sc.CheckRequires(lab.Features(lab.Doctor()))
				todo = []*scenarios.Scenario{sc}
			}
			if !o.yes && !o.asJSON {
				o.lines = stdinLines(cmd.InOrStdin())
			}
			failed := 0
			start := time.Now()
			var reports []runReport
			for _, sc := range todo {
				rep, err := runScenario(cmd.Context(), cmd, sc, o)
				reports = append(reports, rep)
				if errors.Is(err, errInterrupted) {
					return &exitError{code: exitInterrupted, err: fmt.Errorf("%s: interrupted; the lab was removed", sc.ID)}
				}
				if err != nil {
					return err
				}
				if !rep.OK {
					failed++
				}
			}
			if o.asJSON {
				var v any
				if o.all {
					v = runAllReport{Schema: jsonSchema, OK: failed == 0, DurationMs: millis(time.Since(start)), Runs: reports}
				} else {
					reports[0].Schema = jsonSchema
					v = reports[0]
				}
				if err := writeJSON(cmd.OutOrStdout(), v); err != nil {
					return err
				}
			}
			if failed > 0 {
				return &exitError{code: exitFailure, err: fmt.Errorf("%d scenario(s) had failing checks", failed)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.yes, "yes", "y", false, "do not pause between steps, and do not ask before running programs of an outside scenario")
	f.BoolVar(&o.asJSON, "json", false, "print the run as JSON (implies no narration)")
	// (No backquotes in a flag's usage: pflag takes them as the value's name.)
	f.BoolVar(&o.keep, "keep", false, "leave the lab standing at the end, to explore from a second terminal (remove it later with: nslab cleanup)")
	f.BoolVar(&o.all, "all", false, "run every scenario in the catalog")
	f.StringVar(&o.from, "from", "", "start at this step (its number, or its title or the start of it), rebuilding the state of the earlier steps quietly")
	f.StringVar(&o.record, "record", "", "write FILE.sh (the lesson as a script that runs without nslab) or FILE.md (a handout of the run); with --all, {id} in FILE is each lesson's id")
	f.StringVar(&show, "show", "", "after each step, print what it looks like in the shell and in Go: sh, go or sh,go")
	root.AddCommand(cmd)
}

// errInterrupted is a run stopped by Ctrl-C (or SIGTERM, SIGHUP): the lab
// was removed, and nslab exits 130 as a shell does.
var errInterrupted = errors.New("interrupted")

// stepIndex finds the step --from names: a number (1 is the first), or a
// title, or the start of one, ignoring case.
func stepIndex(sc *scenarios.Scenario, from string) (int, error) {
	if from == "" {
		return 0, nil
	}
	var list strings.Builder
	for i, st := range sc.Steps {
		fmt.Fprintf(&list, "\n  %d. %s", i+1, st.Title)
	}
	if n, err := strconv.Atoi(from); err == nil {
		if n < 1 || n > len(sc.Steps) {
			return 0, fmt.Errorf("--from %d: %s has steps 1 to %d:%s", n, sc.ID, len(sc.Steps), list.String())
		}
		return n - 1, nil
	}
	want := strings.ToLower(strings.TrimSpace(from))
	match := -1
	for i, st := range sc.Steps {
		t := strings.ToLower(st.Title)
		if t == want {
			return i, nil
		}
		if strings.HasPrefix(t, want) {
			if match >= 0 {
				return 0, fmt.Errorf("--from %q: steps %d and %d both start so; give the number:%s", from, match+1, i+1, list.String())
			}
			match = i
		}
	}
	if match < 0 {
		return 0, fmt.Errorf("--from %q: %s has no step of that title; give a number or a title:%s", from, sc.ID, list.String())
	}
	return match, nil
}

func runScenario(ctx context.Context, cmd *cobra.Command, sc *scenarios.Scenario, o runOptions) (rep runReport, err error) {
	rep = runReport{ID: sc.ID, Title: sc.Title}
	start := time.Now()
	defer func() { rep.DurationMs = millis(time.Since(start)) }()
	w := cmd.OutOrStdout()
	if o.asJSON {
		w = io.Discard
	}
	if !sc.Available {
		rep.Skipped, rep.OK = sc.Reason, true
		fmt.Fprintf(w, "── %s: skipped: %s\n", sc.ID, sc.Reason)
		return rep, nil
	}
	first, err := stepIndex(sc, o.from)
	if err != nil {
		return rep, asUsage(err) // --from names no step
	}
	if progs := sc.Programs(); !sc.Embedded && len(progs) > 0 && !o.yes {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s is not from the built-in catalog and runs these programs as root:\n", sc.File)
		for _, p := range progs {
			fmt.Fprintf(cmd.ErrOrStderr(), "  %s\n", p)
		}
		fmt.Fprint(cmd.ErrOrStderr(), "run it? [y/N] ")
		var ans string
		if o.lines != nil {
			// The pauses read stdin too: one reader, or the answer and
			// the first [enter] could each go to the other.
			select {
			case ans = <-o.lines:
			case <-ctx.Done():
			}
		} else {
			ans, _ = bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
		}
		if a := strings.ToLower(strings.TrimSpace(ans)); a != "y" && a != "yes" {
			return rep, errors.New("not run (pass --yes to run outside scenarios without asking)")
		}
	}
	names := script.HostNames() // until the session says otherwise
	err = withSession(ctx, cmd.ErrOrStderr(), o.keep, func(ctx context.Context, s *lab.Session) error {
		r := script.NewRunner(s)
		defer r.Close()
		prog := newProgressLine(cmd.ErrOrStderr())
		defer prog.End()
		r.OnProgress = func(_ script.Stmt, done, total int) { prog.Count(done, total) }
		names = systemNames(s)
		shells := sc.StepShells(names)
		fmt.Fprintf(w, "━━ %s — %s\n%s\n", sc.ID, sc.Title, narration(w, sc.Intro))
		if err := sc.Rebuild(ctx, r, first); err != nil {
			if ctx.Err() != nil {
				return errInterrupted
			}
			return fmt.Errorf("--from %s: rebuilding the earlier steps: %w", o.from, err)
		}
		rep.OK = true
		for i := first; i < len(sc.Steps); i++ {
			if ctx.Err() != nil {
				return errInterrupted
			}
			sr := runStep(ctx, w, r, prog, i+1, &sc.Steps[i], o)
			if ctx.Err() != nil {
				// A check cut short is not a failed check.
				return errInterrupted
			}
			rep.Steps = append(rep.Steps, sr)
			showEquivalents(w, o.show, shells[i], sc.Steps[i].Go)
			if !sr.OK {
				rep.OK = false
			}
			if commandFailed(sr) && i+1 < len(sc.Steps) {
				// Later steps build on this one: running them would fail
				// in a cascade, or act on what is not this lab's (a name
				// another lab holds).
				fmt.Fprintf(w, "\n  stopped: steps %d–%d build on this one and were not run; fix the cause, then `nslab run %s --from %d`\n",
					i+2, len(sc.Steps), sc.ID, i+1)
				rep.NotRun = len(sc.Steps) - i - 1
				break
			}
			if !o.yes && !o.asJSON && i+1 < len(sc.Steps) {
				fmt.Fprint(w, "\n[enter] next step ")
				select {
				case _, ok := <-o.lines:
					if !ok {
						fmt.Fprintln(w)
					}
				case <-ctx.Done():
					fmt.Fprintln(w)
					return errInterrupted
				}
			}
		}
		rep.Results = r.Env.Results()
		if rep.OK {
			fmt.Fprintf(w, "\n✓ %s: every check passed\n", sc.ID)
		} else {
			fmt.Fprintf(w, "\n✗ %s: some checks failed\n", sc.ID)
		}
		return nil
	})
	fillShells(&rep, sc, names)
	if err == nil && o.record != "" {
		err = writeRecord(recordPath(o.record, sc.ID), sc, rep, names, first+1)
	}
	return rep, err
}

// stdinLines reads lines in the background, so a pause between steps
// still ends at once on Ctrl-C (which cancels the run's context).
func stdinLines(in io.Reader) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		br := bufio.NewReader(in)
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return
			}
			ch <- l
		}
	}()
	return ch
}

// commandFailed reports whether one of a step's commands (not checks)
// failed.
func commandFailed(sr stepReport) bool {
	for _, c := range sr.Commands {
		if !c.OK {
			return true
		}
	}
	return false
}

func runStep(ctx context.Context, w io.Writer, r *script.Runner, prog *progressLine, n int, st *scenarios.Step, o runOptions) (sr stepReport) {
	sr = stepReport{N: n, Title: st.Title, Kind: learnerKind(st)}
	start := time.Now()
	defer func() { sr.DurationMs = millis(time.Since(start)) }()
	fmt.Fprintf(w, "\n── %d. %s\n%s\n", n, st.Title, narration(w, st.Prose))
	report := func(res script.Result) cmdReport {
		c := cmdReport{Line: res.Stmt.Line, Text: res.Stmt.Text, Shell: res.Stmt.Shell(), Go: res.Stmt.Go(), Output: res.Output, OK: res.Err == nil, DurationMs: millis(res.Elapsed), cmd: res.Stmt.Cmd.Name}
		if res.Err != nil {
			c.Error = res.Err.Error()
		}
		return c
	}
	res := withPredict(ctx, w, r, st, o, &sr, func(unattended bool) scenarios.StepResult {
		return st.Run(ctx, r, scenarios.StepOptions{
			Unattended: unattended,
			OnEvent: func(e scenarios.Event) {
				switch e.Kind {
				case scenarios.CommandStarted:
					prog.Start(e.Stmt.Text)
				case scenarios.CommandDone:
					prog.End()
					// Printed once it ran: a "$ line" means the command is done
					// (the kill -9 test relies on it).
					fmt.Fprintf(w, "  $ %s\n", e.Stmt.Text)
					if e.Result.Output != "" {
						fmt.Fprintln(w, indentText(e.Result.Output, "    "))
					}
					if e.Result.Err != nil {
						fmt.Fprintf(w, "    ✗ %v\n", e.Result.Err)
					}
				case scenarios.CheckStarted:
					if d := e.Stmt.Within(); d > 0 && !unattended {
						fmt.Fprintf(w, "  … waiting up to %s: %s\n", d, e.Stmt.Text)
					}
				case scenarios.CheckDone:
					if e.Result.Err != nil {
						fmt.Fprintf(w, "  ✗ %v\n", e.Result.Err)
					} else {
						fmt.Fprintf(w, "  %s\n", e.Result.Output)
					}
				}
			},
		})
	})
	sr.OK = res.OK
	if res.Skipped != "" {
		sr.Skipped = res.Skipped
		fmt.Fprintf(w, "  skipped: %s\n", res.Skipped)
		return sr
	}
	for _, x := range res.Commands {
		sr.Commands = append(sr.Commands, report(x))
	}
	for _, x := range res.Checks {
		sr.Checks = append(sr.Checks, report(x))
	}
	if len(res.NotRun) > 0 {
		fmt.Fprintln(w, "  the step's commands failed; its checks were not run")
		for _, c := range res.NotRun {
			sr.Checks = append(sr.Checks, cmdReport{Line: c.Line, Text: c.Text, Shell: c.Shell(), Go: c.Go(), Error: "not run: the step's commands failed"})
		}
	}
	if !sr.OK && st.Hint != "" {
		sr.Hint = st.Hint
		fmt.Fprintf(w, "  hint: %s\n", indentText(st.Hint, "        ")[8:])
	}
	return sr
}

func indentText(s, pre string) string {
	return pre + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pre)
}
