package script

import (
	"fmt"
	"strings"

	"github.com/nslab/nslab/lab"
)

// SysNames maps the names a lesson uses to the names the system knows its
// resources by. The engine owns the mapping; a renderer takes it as a
// value, so a script written from a session uses that session's names.
type SysNames struct {
	Netns func(name string) string     // a lab namespace: its name in /run/netns
	Link  func(ns, name string) string // a link in namespace ns (host-side links carry the lab's prefix)
}

// HostNames is the mapping of a lab running on the machine itself.
func HostNames() SysNames { return SysNames{Netns: lab.SysName, Link: lab.LinkSysName} }

// ExportNames are the names of a script that runs on its own (--record
// .sh): always nslab-NAME, whatever prefix the recording lab had claimed
// (nslab2- and on belong to a running session). The nslab proxy such a
// script starts, which claims none, finds its tenants by the same names.
func ExportNames() SysNames {
	netns := func(n string) string {
		if strings.HasPrefix(n, lab.Prefix) {
			return n
		}
		return lab.Prefix + n
	}
	return SysNames{Netns: netns, Link: func(ns, n string) string {
		if lab.IsHost(ns) {
			return netns(n)
		}
		return n
	}}
}

// Sh writes statements as the shell commands that do the same with
// iproute2, util-linux, socat and curl. It renders them in order, because a
// name means something only after the line that made it: a spawned child
// or a proxy is then addressed by $PID_OF_NAME, a namespace made by
// `netns add` by its name in /run/netns. It also collects what undoes
// everything it rendered, for a script's teardown.
type Sh struct {
	names   SysNames
	procs   map[string]bool // spawned children and proxies
	undo    []string
	capture map[stmtKey]bool // commands whose output a later check reads: rendered as OUT=$(...)
	printer Action           // the last command that prints, for `expect output`
	// logged are the sockets whose traffic a later check reads (expect
	// accepted, received): their listener writes what it gets to $RUN.
	logged map[string]bool
	// inodes are the lab namespaces a later line finds by inode (holders,
	// lsns): `netns add` records it, for after the name is gone.
	inodes map[string]bool
	// helpers are shell functions a rendered line calls, by name, in the
	// order first needed; a script defines them before its first step.
	helpers []namedText
}

type namedText struct{ name, text string }

// helper asks for a shell function (or several) in the script's preamble.
func (x *Sh) helper(name, text string) {
	for _, h := range x.helpers {
		if h.name == name {
			return
		}
	}
	x.helpers = append(x.helpers, namedText{name, text})
}

// Helpers are the shell functions the rendered lines call.
func (x *Sh) Helpers() string {
	var b strings.Builder
	for _, h := range x.helpers {
		b.WriteString(h.text)
	}
	return b.String()
}

type stmtKey struct {
	file string
	line int
}

// NewSh returns a renderer for a script that starts from nothing.
func NewSh(n SysNames) *Sh {
	return &Sh{names: n, procs: map[string]bool{}, capture: map[stmtKey]bool{}, logged: map[string]bool{}, inodes: map[string]bool{}}
}

// Knowing renders with the given names already known as spawned children
// or proxies: a line shown on its own (a hands-on command, a line typed in
// the free lab) whose context is a running lab rather than earlier lines.
func (x *Sh) Knowing(procs ...string) *Sh {
	for _, p := range procs {
		x.procs[p] = true
	}
	return x
}

// Plan looks ahead at every statement a script will hold, so that a
// command whose output a later `expect output` reads is rendered capturing
// it. Call it once, before rendering.
func (x *Sh) Plan(stmts []Stmt) {
	var last *Stmt
	for i := range stmts {
		st := &stmts[i]
		if a, ok := st.Action.(*act); ok && a.prints {
			last = st
		}
		c, ok := st.Action.(*check)
		if ok && c.readsOutput && last != nil {
			x.capture[stmtKey{last.File, last.Line}] = true
		}
		if ok && c.traffic != "" {
			x.logged[c.traffic] = true
		}
		if ok && c.inodeOf != "" {
			x.inodes[c.inodeOf] = true
		}
		if a, ok := st.Action.(*act); ok && a.inodeOf != "" {
			x.inodes[a.inodeOf] = true
		}
	}
}

// Line renders one statement: a command as its shell lines, a check as a
// test that ends the script with the check's text when it does not hold.
func (x *Sh) Line(st Stmt) string {
	var out string
	switch a := st.Action.(type) {
	case *check:
		out = x.checkLine(st, a)
	case *act:
		out = a.sh(x)
		if a.prints {
			if x.capture[stmtKey{st.File, st.Line}] {
				out = "OUT=$(" + out + " 2>&1); echo \"$OUT\""
			}
			x.printer = a
		}
		if a.undo != nil {
			x.undo = append(x.undo, a.undo(x)...)
		}
	default:
		out = st.Action.Shell(x)
	}
	for _, d := range st.Defs {
		if d.Kind == KindProc {
			x.procs[d.Name] = true
		}
	}
	return out
}

// Lines renders statements in order, one or more lines each.
func (x *Sh) Lines(stmts []Stmt) string {
	var b strings.Builder
	for _, st := range stmts {
		b.WriteString(x.Line(st))
		b.WriteByte('\n')
	}
	return b.String()
}

// Teardown is what undoes everything rendered so far, most recent first:
// every process the script started, every namespace and host-side link it
// made. Each line may fail (the thing may be gone already).
func (x *Sh) Teardown() []string {
	out := make([]string, 0, len(x.undo))
	for i := len(x.undo) - 1; i >= 0; i-- {
		out = append(out, x.undo[i])
	}
	return out
}

// checkLine renders a check: a condition, and `fail` with the check's text
// when it does not hold; a check that may wait retries for as long.
func (x *Sh) checkLine(st Stmt, c *check) string {
	cond, note := cutNote(c.cond(x))
	msg := quote(st.Text)
	within := max(c.within, c.settle)
	if within <= 0 {
		return fmt.Sprintf("%s || fail %s%s", cond, msg, note)
	}
	tries := int(within/pollEvery) + 1
	return fmt.Sprintf("n=0; until %s; do n=$((n+1)); [ $n -lt %d ] || fail %s; sleep %g; done%s", cond, tries, msg, pollEvery.Seconds(), note)
}

// cutNote splits a trailing comment (" # kB") off a condition, to put it
// at the end of the line: inside `until COND; do`, it would comment out
// the rest of the loop.
func cutNote(cond string) (code, note string) {
	i := strings.LastIndex(cond, " # ")
	if i < 0 || strings.ContainsAny(cond[i:], `'"`) {
		return cond, ""
	}
	return cond[:i], cond[i:]
}

// isProc reports whether a name is a spawned child or a proxy rendered so
// far (or self, this shell).
func (x *Sh) isProc(name string) bool { return x.procs[name] }

// netns is a lab namespace's name in /run/netns.
func (x *Sh) netns(ns string) string { return x.names.Netns(ns) }

// link is what a link in namespace ns is called on the system.
func (x *Sh) link(ns, name string) string {
	if x.isProc(ns) {
		return name
	}
	return x.names.Link(ns, name)
}

// pid is the shell word for a process: this shell for self and host, a
// spawned child's or proxy's variable, or a PID as given.
func (x *Sh) pid(who string) string {
	switch {
	case who == "self" || lab.IsHost(who):
		return "$$"
	case x.isProc(who):
		return "$" + pidOf(who)
	}
	return who
}

// in runs a command inside a namespace: a lab namespace through ip netns
// exec, a spawned child's through nsenter.
func (x *Sh) in(ns, cmd string) string {
	switch {
	case lab.IsHost(ns):
		return cmd
	case x.isProc(ns):
		return "nsenter -t $" + pidOf(ns) + " -n " + cmd
	}
	return "ip netns exec " + x.netns(ns) + " " + cmd
}

// ip is the ip command aimed at a namespace.
func (x *Sh) ip(ns string) string {
	switch {
	case lab.IsHost(ns):
		return "ip"
	case x.isProc(ns):
		return x.in(ns, "ip")
	}
	return "ip -n " + x.netns(ns)
}

// target is what `ip link set ... netns` takes for a namespace: a name in
// /run/netns, or a PID (this shell's, for the host).
func (x *Sh) target(ns string) string {
	switch {
	case lab.IsHost(ns):
		return "$$"
	case x.isProc(ns):
		return "$" + pidOf(ns)
	}
	return x.netns(ns)
}

// nsid is a shell expression for the namespace of type typ that who is in,
// as readlink prints it ("net:[4026531840]"): a process's, or a lab
// namespace's (for net).
func (x *Sh) nsid(typ, who string) string {
	if typ == "net" && !x.isProc(who) && who != "self" && !lab.IsHost(who) && !isNumber(who) {
		return fmt.Sprintf(`net:[$(stat -L -c %%i /run/netns/%s)]`, x.netns(who))
	}
	return fmt.Sprintf("$(readlink /proc/%s/ns/%s)", x.pid(who), typ)
}

func isNumber(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// testOp is the test(1) operator for a comparison.
func testOp(op string) string {
	return map[string]string{"<=": "-le", ">=": "-ge", "==": "-eq", "!=": "-ne", "<": "-lt", ">": "-gt"}[op]
}
