package backend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/probe"
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
	// policy judges what typed lines run (nslab serve); see Restrict.
	policy *script.Policy
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
		pid := 0
		if p, ok := l.sess.Proc(w); ok {
			pid = p.PID
		} else if n, err := strconv.Atoi(w); err == nil && n > 0 {
			pid = n // any process: `watch 4242`
		}
		if pid > 0 && !seen[pid] {
			out = append(out, Watched{w, pid, "spawned"})
			seen[pid] = true
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
		u := ui.Scenario{ID: sc.ID, Title: sc.Title, Summary: sc.Summary, Level: sc.Level, Minutes: sc.Minutes, Tags: sc.Tags,
			Group: sc.Group, Intro: sc.Intro}
		if !sc.Available {
			u.Unavailable = sc.Reason
		}
		shells := sc.StmtShells(script.HostNames())
		for i := range sc.Steps {
			st := &sc.Steps[i]
			us := ui.Step{Title: st.Title, Prose: st.Prose, Sh: st.Sh, Go: st.Go, Hint: st.Hint, Hints: st.Hints, Waits: st.Waits(),
				Commands: uiCommands(st.Lab, shells), HandsOn: uiCommands(st.Unattended, shells), Solution: uiCommands(st.Solution, shells)}
			for _, c := range st.Check {
				us.Checks = append(us.Checks, c.Text)
			}
			if p := st.Predict; p != nil {
				us.Predict = &ui.Predict{Question: p.Question, Kind: p.Kind, Choices: p.Choices, Answer: p.AnswerText(), Why: p.Why,
					See: st.SeeIndex(), Judge: p.Judge}
			}
			u.Steps = append(u.Steps, us)
		}
		out = append(out, u)
	}
	return out
}

// uiCommands lists statements with their shell as the lesson renders it in
// order (shells, by line: a spawned child is $PID_OF_NAME there).
func uiCommands(stmts []script.Stmt, shells map[int]string) []ui.Command {
	var out []ui.Command
	for _, c := range stmts {
		out = append(out, ui.Command{Text: c.Text, Sh: shells[c.Line], Go: c.Go(), LabOnly: c.Cmd.LabOnly})
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
	l.run.Policy = l.policy
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
	if why := sc.Steps[step].Skip; why != "" {
		events <- ui.Event{Kind: ui.StepSkipped, Detail: why}
		return
	}
	// The lock is held per statement, not for the step: while a check
	// waits for the learner, the free lab's Exec may run (the learner
	// doing the step at the lab prompt).
	l.mu.Lock()
	run := l.run
	l.mu.Unlock()
	sc.Steps[step].Run(ctx, run, scenarios.StepOptions{From: from, Lock: &l.mu, OnEvent: func(e scenarios.Event) {
		switch e.Kind {
		case scenarios.CommandStarted:
			events <- ui.Event{Kind: ui.CommandStarted, Index: from + e.Index}
		case scenarios.CommandDone:
			err := e.Result.Err
			events <- ui.Event{Kind: ui.CommandDone, Index: from + e.Index, Output: e.Result.Output, Err: err, Col: errCol(err)}
		case scenarios.CheckStarted:
			if e.Index == 0 {
				if st := &sc.Steps[step]; st.Learner() {
					events <- ui.Event{Kind: ui.ShellResolved, Shell: l.resolved(slices.Concat(st.Unattended, st.Solution))}
				}
			}
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
			events <- ui.Event{Kind: ui.CheckDone, Index: e.Index, OK: e.Result.Err == nil, Detail: detail, Err: checkErr(e.Result.Err), Seen: e.Result.Seen()}
		}
	}})
}

// resolved is the shell form of stmts as a learner types it beside this
// lab: a child is addressed by its PID, with the number in place of
// $PID_OF_NAME.
func (l *Lab) resolved(stmts []script.Stmt) []string {
	out := make([]string, len(stmts))
	for i, st := range stmts {
		out[i] = l.run.Env.Shell(st)
	}
	return out
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

// Complete returns the candidates for the word before cursor: what that
// argument takes (script.Complete) from the names the lab has made. It
// asks the kernel for links: call it from a tea.Cmd.
func (l *Lab) Complete(line string, cursor int) []string {
	l.mu.Lock()
	c := script.Candidates{
		Namespaces: l.sess.NetnsList(),
		Sockets:    l.run.Env.Sockets(),
		Proxies:    l.run.Env.Proxies(),
	}
	l.mu.Unlock()
	c.NetNames = slices.Clone(c.Namespaces)
	for _, p := range l.sess.Procs() {
		if slices.Contains(c.Proxies, p.Name) {
			continue
		}
		c.Children = append(c.Children, p.Name)
		if ownNet(p) {
			c.NetNames = append(c.NetNames, p.Name)
		}
	}
	// The lab's own host links (the host holds everyone's), and every link
	// in the namespace given, or in all of the lab's when none is.
	c.Links = func(ns string) []string {
		var out []string
		if ns == "" || lab.IsHost(ns) {
			for _, e := range l.sess.Owned() {
				if e.Kind == lab.KindLink && e.Netns == "" {
					out = append(out, lab.ShortName(e.Name))
				}
			}
		}
		nss := []string{ns}
		if ns == "" {
			nss = c.NetNames
		}
		for _, n := range nss {
			if lab.IsHost(n) {
				continue
			}
			if links, err := l.sess.Links(n); err == nil {
				for _, ln := range links {
					out = append(out, ln.Name)
				}
			}
		}
		return out
	}
	return script.Complete(line, cursor, c)
}

// Holders says, for each of the lab's namespaces and each spawned child's
// network namespace, what keeps it alive: one pass over /proc for all.
func (l *Lab) Holders(ctx context.Context) []ui.NamespaceHolders {
	type target struct {
		name, path string
		ino        uint64
		err        error
	}
	var ts []target
	for _, n := range l.sess.NetnsList() {
		ts = append(ts, target{name: n, path: filepath.Join(lab.NetnsDir, lab.SysName(n))})
	}
	for _, p := range l.sess.Procs() {
		if ownNet(p) {
			ts = append(ts, target{name: p.Name, path: fmt.Sprintf("/proc/%d/ns/net", p.PID)})
		}
	}
	var inos []uint64
	for i := range ts {
		t := &ts[i]
		_, t.ino, t.err = probe.NamespaceOf(t.path)
		if errors.Is(t.err, unix.ENOENT) {
			// Deleted from /run/netns behind the lab's back: still
			// found by the inode the lab saw it with.
			l.mu.Lock()
			known, ok := l.run.Env.NamespaceInode(t.name)
			l.mu.Unlock()
			if ok {
				t.ino, t.err = known, nil
				t.path += ", whose name is gone"
			}
		}
		if t.err == nil {
			inos = append(inos, t.ino)
		}
	}
	var reps map[uint64]*probe.HolderReport
	var err error
	if len(inos) > 0 && ctx.Err() == nil {
		reps, err = probe.FindHoldersOf("net", inos)
	}
	names := probe.LoadNames()
	out := make([]ui.NamespaceHolders, 0, len(ts))
	for _, t := range ts {
		nh := ui.NamespaceHolders{Name: t.name, Err: t.err}
		if t.err == nil && err != nil {
			nh.Err = err
		}
		if rep := reps[t.ino]; nh.Err == nil && rep != nil {
			lines := strings.Split(rep.Text(t.path, names, 12), "\n")
			nh.Summary, nh.Lines = lines[0], lines[1:]
		}
		out = append(out, nh)
	}
	return out
}

// Commands lists the command names, for help and completion.
func (l *Lab) Commands() []string { return script.Names() }
