package script

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/nslab/nslab/lab"
)

// Action is a parsed command, ready to run.
type Action interface {
	// Run executes the command against the runner's environment and
	// returns what a learner should see.
	Run(ctx context.Context, env *Env) (string, error)
	// Shell is the same thing with iproute2, nsenter or coreutils, as
	// x renders it (a check: the condition that holds when it does).
	Shell(x *Sh) string
	// Go is a short snippet of the Go that does it.
	Go() string
}

// Command is one entry of the language's registry.
type Command struct {
	Name    string // "link add"; the words that select it
	Usage   string // "link add NAME type veth peer PEER [netns NS] [-n NS]"
	Summary string // one line
	Example string // one runnable line
	NS      bool   // accepts -n NS anywhere, like ip -n
	IsCheck bool   // an assertion (expect), not an action
	LabOnly bool   // only the lab's prompt can do it (see registry.go)
	parse   func(p *parser) (Action, error)
}

// Stmt is one parsed line.
type Stmt struct {
	File   string
	Line   int
	Col    int
	Text   string
	Cmd    *Command
	Action Action
	// Defs are the names the statement creates (`netns add alpha`), Refs
	// the names it uses (`-n alpha`), each at its column: what Scope checks
	// before anything runs.
	Defs, Refs []Name
	// Program is the program the statement runs on the machine (exec's
	// command, spawn's -- CMD), nil if none: what a Policy judges.
	Program []string
}

// Shell is the statement's shell equivalent on its own, with the names of
// a lab on the machine. A name is known to be a spawned child only in
// context: render a whole script with Sh.
func (s Stmt) Shell() string { return NewSh(HostNames()).Line(s) }

// Go is the statement's Go equivalent.
func (s Stmt) Go() string { return s.Action.Go() }

// Commands returns the registry, in the order help lists it.
func Commands() []*Command { return registry }

// Lookup finds a command by its name ("link add").
func Lookup(name string) *Command {
	for _, c := range registry {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Parse parses a script: one command a line, blank lines and # comments
// allowed. firstLine is the file line of src's first line (for blocks inside
// a Markdown file). All errors are returned, joined, each a *SyntaxError.
func Parse(file string, firstLine int, src string) ([]Stmt, error) {
	var stmts []Stmt
	var errs []error
	for i, text := range strings.Split(src, "\n") {
		st, err := ParseLine(file, firstLine+i, text)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st != nil {
			stmts = append(stmts, *st)
		}
	}
	return stmts, errors.Join(errs...)
}

// ParseLine parses one line; a blank or comment line gives (nil, nil).
func ParseLine(file string, line int, text string) (*Stmt, error) {
	toks, err := lex(file, line, text)
	if err != nil || len(toks) == 0 {
		return nil, err
	}
	cmd, n, err := match(file, line, toks)
	if err != nil {
		return nil, err
	}
	p := &parser{file: file, line: line, cmd: cmd, end: len(strings.TrimRight(text, " \t\r")) + 1, head: toks[n-1]}
	if err := p.extractNS(toks[n:]); err != nil {
		return nil, err
	}
	if p.ns != "" && !lab.IsHost(p.ns) {
		p.ref(KindNetns, p.nsTok)
	}
	act, err := cmd.parse(p)
	if p.err != nil {
		err = p.err // the line's first error, whatever parse made of it
	}
	if err != nil {
		return nil, err
	}
	return &Stmt{File: file, Line: line, Col: toks[0].Col, Text: strings.TrimSpace(text), Cmd: cmd, Action: act, Defs: p.defs, Refs: p.refs, Program: p.program}, nil
}

// match finds the command selected by the first one or two words.
func match(file string, line int, toks []Token) (*Command, int, error) {
	first := toks[0].Text
	if len(toks) > 1 {
		if c := Lookup(first + " " + toks[1].Text); c != nil {
			return c, 2, nil
		}
	}
	if c := Lookup(first); c != nil {
		return c, 1, nil
	}
	var group []string
	for _, c := range registry {
		if w, _, ok := strings.Cut(c.Name, " "); ok && w == first {
			group = append(group, c.Name)
		}
	}
	if len(group) > 0 {
		if len(toks) == 1 {
			return nil, 0, &SyntaxError{file, line, toks[0].Col + len(first), fmt.Sprintf("`%s` needs a subcommand: %s", first, strings.Join(group, ", "))}
		}
		return nil, 0, &SyntaxError{file, line, toks[1].Col, fmt.Sprintf("unknown command `%s %s`: expected one of %s%s",
			first, toks[1].Text, strings.Join(group, ", "), didYouMean(first+" "+toks[1].Text, group))}
	}
	var names []string
	for _, c := range registry {
		names = append(names, c.Name)
	}
	guess := first
	if len(toks) > 1 {
		guess += " " + toks[1].Text
	}
	hint := didYouMean(guess, names)
	if hint == "" {
		hint = didYouMean(first, firstWords())
	}
	if hint == "" {
		hint = "; `help` lists the commands"
	}
	return nil, 0, &SyntaxError{file, line, toks[0].Col, fmt.Sprintf("unknown command `%s`%s", first, hint)}
}

func firstWords() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range registry {
		w, _, _ := strings.Cut(c.Name, " ")
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// DidYouMean returns ": did you mean `X`?" for the candidate closest to s,
// or "" if none is close: the suggestion every error of the language ends
// with, for callers (the scenario loader) that check words of their own.
func DidYouMean(s string, cands []string) string { return didYouMean(s, cands) }

// didYouMean suggests the closest candidate, if it is close enough.
func didYouMean(s string, cands []string) string {
	best, bestD := "", 1<<30
	for _, c := range cands {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(2, len(s)/3) {
		return ""
	}
	return fmt.Sprintf(": did you mean `%s`?", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// parser walks the arguments of one command.
type parser struct {
	file  string
	line  int
	cmd   *Command
	toks  []Token
	i     int
	end   int   // column just past the line's last character
	head  Token // the command's last name word
	ns    string
	nsTok Token
	defs  []Name
	refs  []Name
	// program is set by a command that runs one (exec, spawn -- CMD).
	program []string
	// err is the line's first error. Once it is set every reader takes
	// nothing and returns a zero value, so a parse function reads its
	// arguments straight through and checks once, at the end (done).
	err error
}

// extractNS takes "-n NS" out of the arguments (anywhere before "--").
func (p *parser) extractNS(toks []Token) error {
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.Text == "--" {
			p.toks = append(p.toks, toks[i:]...)
			return nil
		}
		if t.Text == "-n" && p.cmd.NS {
			if i+1 >= len(toks) {
				return p.errAt(Token{Col: p.end}, "-n needs a namespace name, as in `-n alpha`")
			}
			if p.ns != "" {
				return p.errAt(t, "-n given twice")
			}
			p.ns, p.nsTok = toks[i+1].Text, toks[i+1]
			i++
			continue
		}
		p.toks = append(p.toks, t)
	}
	return nil
}

// errAt records an error at t, and returns the line's first error: this
// one, unless an earlier one was recorded.
func (p *parser) errAt(t Token, format string, a ...any) error {
	if p.err == nil {
		msg := fmt.Sprintf(format, a...)
		p.err = &SyntaxError{p.file, p.line, t.Col, msg + " (usage: " + p.cmd.Usage + ")"}
	}
	return p.err
}

// peek is the next argument, if there is one and no error so far.
func (p *parser) peek() (Token, bool) {
	if p.err == nil && p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return Token{Col: p.end}, false
}

// word takes the next argument; what names it in the error if it is missing.
func (p *parser) word(what string) Token {
	t, ok := p.peek()
	if !ok {
		p.errAt(t, "missing %s after `%s`", what, p.prev())
		return Token{}
	}
	p.i++
	return t
}

// checked takes a word (what names it in an error) that check accepts; a
// check's error points at the word.
func (p *parser) checked(what string, check func(string) error) Token {
	t := p.word(what)
	if p.err != nil {
		return Token{}
	}
	if err := check(t.Text); err != nil {
		p.errAt(t, "%v", err)
	}
	return t
}

// isIP and isCIDR are lab's parsers of an address, as checks.
func isIP(s string) error   { _, err := lab.ParseIP(s); return err }
func isCIDR(s string) error { _, err := lab.ParseCIDR(s); return err }

func (p *parser) prev() string {
	if p.i > 0 {
		return p.toks[p.i-1].Text
	}
	return p.head.Text
}

// keyword takes the next argument, which must be one of kws.
func (p *parser) keyword(kws ...string) Token {
	t, ok := p.peek()
	if !ok {
		p.errAt(t, "missing %s after `%s`", orList(kws), p.prev())
		return Token{}
	}
	if !slices.Contains(kws, t.Text) {
		p.errAt(t, "found `%s`, expected %s%s", t.Text, orList(kws), didYouMean(t.Text, kws))
		return Token{}
	}
	p.i++
	return t
}

// accept takes the next argument if it is kw.
func (p *parser) accept(kw string) bool {
	if t, ok := p.peek(); ok && t.Text == kw {
		p.i++
		return true
	}
	return false
}

// done is the line's first error, if any, or an error for an argument
// left over.
func (p *parser) done() error {
	if t, ok := p.peek(); ok {
		return p.errAt(t, "unexpected `%s`", t.Text)
	}
	return p.err
}

// named is the parse of a command whose one argument is a name (kill NAME,
// close NAME, proxy stop NAME): arg reads the name and records it for
// Scope, build makes the action.
func named(arg func(*parser) Token, build func(name string) *act) func(*parser) (Action, error) {
	return func(p *parser) (Action, error) {
		t := arg(p)
		return build(t.Text), p.done()
	}
}

// rest returns the remaining words.
func (p *parser) rest() []string {
	var out []string
	for t, ok := p.peek(); ok; t, ok = p.peek() {
		out = append(out, t.Text)
		p.i++
	}
	return out
}

func orList(kws []string) string {
	q := make([]string, len(kws))
	for i, k := range kws {
		q[i] = "`" + k + "`"
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// Names returns the command names, sorted, for completion.
func Names() []string {
	out := make([]string, 0, len(registry))
	for _, c := range registry {
		out = append(out, c.Name)
	}
	sort.Strings(out)
	return out
}
