package script

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// Kind is what a name in a command stands for.
type Kind int

const (
	// KindNetns is a network namespace: one `netns add` made, or a
	// spawned child's (its name works wherever a namespace does).
	KindNetns Kind = iota
	// KindProc is a process: a spawned child or a proxy.
	KindProc
	// KindSocket is a socket opened with `listen ... as NAME`.
	KindSocket
	// KindNetOrProc is either: where a check compares network namespaces
	// (`expect ns net blue == self`), a name may be a namespace or a
	// process, and self and PIDs work too.
	KindNetOrProc
	// KindHeld is KindNetOrProc for `holders`: the namespace may be gone
	// from /run/netns (that is often the question), so the running lab
	// does not refuse the name; the command itself says what it found.
	KindHeld
)

func (k Kind) String() string {
	return [...]string{"namespace", "process", "socket", "namespace or process", "namespace or process"}[k]
}

// Name is a name a statement defines or uses, with its 1-based column.
type Name struct {
	Kind Kind
	Name string
	Col  int
}

func (p *parser) define(k Kind, t Token) {
	p.defs = append(p.defs, Name{k, t.Text, t.Col})
}

func (p *parser) ref(k Kind, t Token) {
	p.refs = append(p.refs, Name{k, t.Text, t.Col})
}

// refNetnsList records each name of a comma-separated list at its column.
func (p *parser) refNetnsList(t Token, names []string) {
	col := t.Col
	for _, n := range names {
		p.refs = append(p.refs, Name{KindNetns, n, col})
		col += len(n) + 1
	}
}

// refRoute records the namespaces a proxy route names (not {tenant}).
func (p *parser) refRoute(t Token, r proxy.Route) {
	for _, e := range []proxy.Endpoint{r.Listen, r.Target} {
		if e.PerTenant() || lab.IsHost(e.Netns) {
			continue
		}
		col := t.Col
		if i := strings.Index(t.Text, e.Netns+"/"); i >= 0 {
			col += i
		}
		p.refs = append(p.refs, Name{KindNetns, e.Netns, col})
	}
}

// Scope is what a script has created so far, for checking the names later
// lines use before anything runs (`nslab lint`, the scenario loader).
type Scope struct {
	names map[Kind][]string
}

// NewScope returns an empty scope.
func NewScope() *Scope { return &Scope{names: map[Kind][]string{}} }

// Define adds a name, as if a statement had created it (names an instructor
// promises exist, e.g. made in a second terminal).
func (sc *Scope) Define(k Kind, name string) {
	if !slices.Contains(sc.names[k], name) {
		sc.names[k] = append(sc.names[k], name)
	}
}

// Check reports each name st uses that nothing before it created, as a
// *SyntaxError with a suggestion, then adds what st creates.
func (sc *Scope) Check(st Stmt) []error {
	var errs []error
	for _, r := range st.Refs {
		if sc.known(r) {
			continue
		}
		errs = append(errs, &SyntaxError{st.File, st.Line, r.Col, unknownMsg(r, sc.candidates(r.Kind), "nothing before this line creates it")})
	}
	for _, d := range st.Defs {
		sc.Define(d.Kind, d.Name)
	}
	return errs
}

func (sc *Scope) known(r Name) bool {
	if builtinName(r) {
		return true
	}
	return slices.Contains(sc.candidates(r.Kind), r.Name)
}

func (sc *Scope) candidates(k Kind) []string {
	switch k {
	case KindNetns, KindNetOrProc, KindHeld: // a spawned child's name is its namespace
		return slices.Concat(sc.names[KindNetns], sc.names[KindProc])
	}
	return sc.names[k]
}

// builtinName reports names that always exist: the host, this process, a
// PID.
func builtinName(r Name) bool {
	switch r.Kind {
	case KindNetns:
		return lab.IsHost(r.Name)
	case KindProc, KindNetOrProc, KindHeld:
		if r.Name == "self" || r.Name == "host" {
			return true
		}
		n, err := strconv.Atoi(r.Name)
		return err == nil && n > 0
	}
	return false
}

func unknownMsg(r Name, cands []string, why string) string {
	what := map[Kind]string{
		KindNetns:     "namespace `%s`: %s (`netns add %s`, or `spawn %s`)",
		KindProc:      "process `%s`: %s (`spawn %s`, or `proxy start %s ...`; self, host and PIDs always work)",
		KindSocket:    "socket `%s`: %s (`listen ... as %s`)",
		KindNetOrProc: "namespace or process `%s`: %s (`netns add %s`, or `spawn %s`; self, host and PIDs always work)",
		KindHeld:      "namespace or process `%s`: %s (`netns add %s`, or `spawn %s`; self, host, PIDs and paths always work)",
	}[r.Kind]
	args := []any{r.Name, why, r.Name}
	if r.Kind != KindSocket {
		args = append(args, r.Name)
	}
	return "unknown " + fmt.Sprintf(what, args...) + didYouMean(r.Name, cands)
}

// checkLive checks an action's names against the running lab before it
// runs, so a typo at the prompt gets a caret and a suggestion rather than
// a kernel error. A namespace made outside the lab (ip netns add
// nslab-blue in a second terminal) counts.
func (r *Runner) checkLive(st Stmt) error {
	for _, ref := range st.Refs {
		if builtinName(ref) || ref.Kind == KindHeld {
			continue
		}
		var cands []string
		switch ref.Kind {
		case KindNetns, KindNetOrProc:
			if _, err := os.Stat(filepath.Join(lab.NetnsDir, lab.SysName(ref.Name))); err == nil {
				continue
			}
			if _, ok := r.Env.S.Proc(ref.Name); ok {
				continue
			}
			cands = r.Env.S.NetnsList()
			for _, p := range r.Env.S.Procs() {
				cands = append(cands, p.Name)
			}
		case KindProc:
			if _, ok := r.Env.S.Proc(ref.Name); ok {
				continue
			}
			for _, p := range r.Env.S.Procs() {
				cands = append(cands, p.Name)
			}
		case KindSocket:
			cands = r.Env.Sockets()
			if slices.Contains(cands, ref.Name) {
				continue
			}
		}
		return &SyntaxError{st.File, st.Line, ref.Col, unknownMsg(ref, cands, "the lab has none by that name")}
	}
	return nil
}
