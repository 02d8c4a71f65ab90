package script

import (
	"io"
	"maps"
	"slices"
	"sort"
	"sync"

	"github.com/nslab/nslab/lab"
)

// Env is what a run accumulates: the session, named sockets, the last
// command's output (for `expect output contains`) and the processes the
// learner asked to watch (for the live panels).
type Env struct {
	S *lab.Session

	mu      sync.Mutex
	sockets map[string]io.Closer
	order   []string
	output  string
	outCmd  string // the command that printed output
	watched []string
	proxies map[string]*proxyCtl
	traffic map[string]*traffic // per open socket: what it accepted and received
	nsIno   map[string]uint64   // the inode of each lab namespace seen, kept after it is deleted
	cmp     compareState        // see cmd_compare.go

	progress func(done, total int) // set by Runner.Exec while a statement runs
}

// report tells the runner how far a statement over many names has got.
func (e *Env) report(done, total int) {
	if e.progress != nil {
		e.progress(done, total)
	}
}

// NewEnv makes an environment over a session.
func NewEnv(s *lab.Session) *Env {
	return &Env{S: s, sockets: map[string]io.Closer{}, proxies: map[string]*proxyCtl{}, traffic: map[string]*traffic{}, nsIno: map[string]uint64{}}
}

// LastOutput is the output of the last command that printed something, and
// that command as typed ("" where the runner did not say), read together.
func (e *Env) LastOutput() (out, cmd string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.output, e.outCmd
}

func (e *Env) setOutput(s string) { e.setOutputOf(s, "") }

// setOutputOf records the output of the command cmd (a line as typed).
func (e *Env) setOutputOf(s, cmd string) {
	e.mu.Lock()
	e.output, e.outCmd = s, cmd
	e.mu.Unlock()
}

// Watched lists what `watch` added: "self", spawned children's names, PIDs.
func (e *Env) Watched() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.watched)
}

func (e *Env) watch(what string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !slices.Contains(e.watched, what) {
		e.watched = append(e.watched, what)
	}
}

// Sockets lists the names of open sockets (from listen ... as NAME).
func (e *Env) Sockets() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := slices.Clone(e.order)
	sort.Strings(out)
	return out
}

// Proxies lists the names of running proxies (from proxy start).
func (e *Env) Proxies() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Sorted(maps.Keys(e.proxies))
}

// Close closes every socket the run opened and its proxy control
// connections. Proxy workers are processes of the session: closing the
// session stops them.
func (e *Env) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.sockets {
		c.Close()
	}
	for _, p := range e.proxies {
		p.client.Close()
	}
	e.sockets = map[string]io.Closer{}
	e.proxies = map[string]*proxyCtl{}
	e.traffic = map[string]*traffic{}
	e.order = nil
}

// rememberNs keeps the inode of a lab namespace by its name, so that
// `holders NAME` still finds it once its name is gone from /run/netns (an
// `ip netns del` while something holds it).
func (e *Env) rememberNs(name string, ino uint64) {
	e.mu.Lock()
	e.nsIno[name] = ino
	e.mu.Unlock()
}

// NamespaceInode is the inode the run saw the lab namespace name with,
// kept after its name is gone from /run/netns.
func (e *Env) NamespaceInode(name string) (uint64, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ino, ok := e.nsIno[name]
	return ino, ok
}
