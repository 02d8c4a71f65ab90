package backend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/script"
	"github.com/nslab/nslab/scenarios"
	"github.com/nslab/nslab/ui"
	"github.com/nslab/nslab/ui/panels"
)

// Lab is the runner the UI drives: the scenario catalog and a
// lab/script.Runner over the session. Its methods block and are called from
// tea.Cmds only.
type Lab struct {
	sess  *lab.Session
	mu    sync.Mutex // one statement at a time, as script.Runner requires
	envMu sync.Mutex // guards run, which Prepare replaces, for the panels' reads
	run   *script.Runner
	list  []*scenarios.Scenario
	errs  []error
}

// NewLab returns the runner for a session; dirs add scenario directories
// (--scenarios).
func NewLab(sess *lab.Session, dirs ...string) *Lab {
	l := &Lab{sess: sess, run: script.NewRunner(sess)}
	l.list, l.errs = scenarios.Catalog(dirs...)
	have := lab.Features(lab.Doctor())
	for _, sc := range l.list {
		sc.CheckRequires(have)
	}
	return l
}

// LoadErrors are the scenario files that did not lint (shown, never run).
func (l *Lab) LoadErrors() []error { return l.errs }

// Close closes the sockets the runner opened (the session is its owner's).
func (l *Lab) Close() error {
	l.run.Close()
	return nil
}

// Watched is what the panels follow: this process, spawned children, and
// whatever `watch` added.
func (l *Lab) Watched() []Watched {
	env := l.env()
	out := []Watched{{"self", os.Getpid(), ""}}
	seen := map[int]bool{os.Getpid(): true}
	for _, p := range l.sess.Procs() {
		kind := "spawned"
		if st := env.ProxyStrategy(p.Name); st != "" {
			kind = st
		}
		out = append(out, Watched{p.Name, p.PID, kind})
		seen[p.PID] = true
	}
	for _, w := range env.Watched() {
		if p, ok := l.sess.Proc(w); ok && !seen[p.PID] {
			out = append(out, Watched{w, p.PID, "spawned"})
			seen[p.PID] = true
		}
	}
	return out
}

// env is the runner's environment; Prepare replaces the runner, so it is
// read under the lock (its accessors are safe to call while a statement
// runs).
func (l *Lab) env() *script.Env {
	l.envMu.Lock()
	defer l.envMu.Unlock()
	return l.run.Env
}

// Results is the last table `compare` printed, for the results panel.
func (l *Lab) Results() *panels.Results {
	t := l.env().Results()
	if t == nil {
		return nil
	}
	out := &panels.Results{Command: t.Command, Taken: t.Taken}
	for _, r := range t.Rows {
		out.Rows = append(out.Rows, panels.ResultRow{
			Name: r.Proxy, Strategy: r.Strategy, Tenants: r.Tenants, Processes: r.Processes, Threads: r.Threads,
			FDs: r.FDs, PSS: r.PSS, Bind: r.Bind(), Stopped: r.Stopped, Err: r.Error,
		})
	}
	return out
}

// Scenarios lists the catalog for the UI.
func (l *Lab) Scenarios() []ui.Scenario {
	out := make([]ui.Scenario, 0, len(l.list))
	for _, sc := range l.list {
		u := ui.Scenario{ID: sc.ID, Title: sc.Title, Summary: sc.Summary, Level: sc.Level, Minutes: sc.Minutes, Tags: sc.Tags}
		if !sc.Available {
			u.Unavailable = sc.Reason
		}
		for _, st := range sc.Steps {
			us := ui.Step{Title: st.Title, Prose: st.Prose, Sh: st.Sh, Go: st.Go, Hint: st.Hint}
			for _, c := range st.Lab {
				us.Commands = append(us.Commands, ui.Command{Text: c.Text, Sh: c.Shell(), Go: c.Go()})
			}
			for _, c := range st.Check {
				us.Checks = append(us.Checks, c.Text)
			}
			u.Steps = append(u.Steps, us)
		}
		out = append(out, u)
	}
	return out
}

func (l *Lab) find(id string) (*scenarios.Scenario, error) {
	for _, sc := range l.list {
		if sc.ID == id {
			return sc, nil
		}
	}
	return nil, errors.New("no scenario " + id)
}

// Prepare removes what the lab made and quietly rebuilds steps [0, from).
func (l *Lab) Prepare(ctx context.Context, id string, from int) error {
	sc, err := l.find(id)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.run.Close()
	if err := l.sess.Reset(); err != nil {
		return err
	}
	l.envMu.Lock()
	l.run = script.NewRunner(l.sess)
	l.envMu.Unlock()
	return sc.Rebuild(ctx, l.run, from)
}

// RunStep runs a step's commands from index from, then its checks,
// reporting each on events, and closes events. The learner is at the
// keyboard: a hands-on step's unattended block is not run.
func (l *Lab) RunStep(ctx context.Context, id string, step, from int, events chan<- ui.Event) {
	defer close(events)
	sc, err := l.find(id)
	if err != nil || step < 0 || step >= len(sc.Steps) {
		events <- ui.Event{Kind: ui.CommandDone, Err: errors.New("no such step")}
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if why := sc.Steps[step].Skip; why != "" {
		events <- ui.Event{Kind: ui.StepSkipped, Detail: why}
		return
	}
	sc.Steps[step].Run(ctx, l.run, scenarios.StepOptions{From: from, OnEvent: func(e scenarios.Event) {
		switch e.Kind {
		case scenarios.CommandStarted:
			events <- ui.Event{Kind: ui.CommandStarted, Index: from + e.Index}
		case scenarios.CommandDone:
			err := e.Result.Err
			events <- ui.Event{Kind: ui.CommandDone, Index: from + e.Index, Output: e.Result.Output, Err: err, Col: errCol(err)}
		case scenarios.CheckStarted:
			events <- ui.Event{Kind: ui.CheckStarted, Index: e.Index}
			if w := e.Stmt.Within(); w > 0 {
				// A hands-on check: it polls until the kernel shows what
				// the learner did in a second terminal; the panels keep
				// updating.
				events <- ui.Event{Kind: ui.CheckWaiting, Index: e.Index, Detail: fmt.Sprintf("waiting up to %s for it to hold", w)}
			}
		case scenarios.CheckDone:
			detail := e.Result.Output
			if e.Result.Err != nil {
				detail = e.Result.Err.Error()
			}
			events <- ui.Event{Kind: ui.CheckDone, Index: e.Index, OK: e.Result.Err == nil, Detail: detail, Err: checkErr(e.Result.Err)}
		}
	}})
}

// checkErr keeps errors that are not a failed check (a check that could
// not be evaluated) for the UI to show as such.
func checkErr(err error) error {
	if err == nil || script.IsCheckFailure(err) {
		return nil
	}
	return err
}

func errCol(err error) int {
	var se *script.SyntaxError
	if errors.As(err, &se) {
		return se.Col
	}
	return 0
}

// Exec runs one line typed at the free-lab prompt.
func (l *Lab) Exec(ctx context.Context, line string) ui.Result {
	l.mu.Lock()
	defer l.mu.Unlock()
	res, err := l.run.RunLine(ctx, line)
	if err != nil {
		return ui.Result{Err: err, Col: errCol(err)}
	}
	return ui.Result{Output: res.Output, Err: res.Err, Check: res.IsCheck(), OK: res.Err == nil}
}

// Complete returns candidates for the word before cursor: command words
// at the start of a line, then the names the lab has made. After -n only
// namespaces fit. It asks the kernel for links: call it from a tea.Cmd.
func (l *Lab) Complete(line string, cursor int) []string {
	if cursor > len(line) {
		cursor = len(line)
	}
	before := line[:cursor]
	start := strings.LastIndexAny(before, " \t") + 1
	word, words := before[start:], strings.Fields(before[:start])
	var pool []string
	switch len(words) {
	case 0:
		seen := map[string]bool{}
		for _, n := range script.Names() {
			w, _, _ := strings.Cut(n, " ")
			if !seen[w] {
				seen[w] = true
				pool = append(pool, w)
			}
		}
	case 1:
		// After a group word (netns, link, ...) only its subcommands fit.
		for _, n := range script.Names() {
			if g, sub, ok := strings.Cut(n, " "); ok && g == words[0] {
				pool = append(pool, sub)
			}
		}
		if len(pool) > 0 {
			break
		}
		fallthrough
	default:
		pool = l.names(words[len(words)-1] == "-n")
	}
	var out []string
	seen := map[string]bool{}
	for _, c := range pool {
		if strings.HasPrefix(c, word) && !seen[c] && !strings.Contains(c, " ") {
			seen[c] = true
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// names lists what an argument can name: the lab's namespaces and
// children, the links it made on the host and every link in its
// namespaces and children's, its sockets and proxies. With nsOnly, only
// what -n accepts: the namespaces and the children with a network
// namespace of their own.
func (l *Lab) names(nsOnly bool) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	nss := l.sess.NetnsList()
	out := slices.Clone(nss)
	for _, p := range l.sess.Procs() {
		if !nsOnly || ownNet(p) {
			out = append(out, p.Name)
		}
		if !nsOnly && ownNet(p) {
			nss = append(nss, p.Name)
		}
	}
	if nsOnly {
		return out
	}
	for _, e := range l.sess.Owned() {
		if e.Kind == lab.KindLink && e.Netns == "" {
			out = append(out, lab.ShortName(e.Name))
		}
	}
	for _, ns := range nss {
		if links, err := l.sess.Links(ns); err == nil {
			for _, ln := range links {
				out = append(out, ln.Name)
			}
		}
	}
	return append(append(out, l.run.Env.Sockets()...), l.run.Env.Proxies()...)
}

// Commands lists the command names, for help and completion.
func (l *Lab) Commands() []string { return script.Names() }
