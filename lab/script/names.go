package script

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// maxRange bounds a name range (t{1..1000}): enough for the thread-savings
// demos, small enough that a typo does not make a million namespaces.
const maxRange = 1000

// nameRun is one word of a name list: a name, or a range like t{1..100}.
type nameRun struct {
	tok            Token
	prefix, suffix string
	from, to       int // from == to == 0 and prefix == the name: a plain name
	isRange        bool
	names          []string
}

var rangeRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([^{}]*)\{(\d{1,4})\.\.(\d{1,4})\}([^{}]*)$`) })

// expandRun reads a name or a range; each name is checked with valid.
func (p *parser) expandRun(text string, col int, valid func(string) error) nameRun {
	at := Token{Text: text, Col: col}
	run := nameRun{tok: at, prefix: text, names: []string{text}}
	if m := rangeRe().FindStringSubmatch(text); m != nil {
		a, _ := strconv.Atoi(m[2])
		b, _ := strconv.Atoi(m[3])
		if b < a || b-a+1 > maxRange {
			p.errAt(at, "range {%d..%d}: want {FROM..TO} with FROM <= TO and at most %d names", a, b, maxRange)
			return run
		}
		run = nameRun{tok: at, prefix: m[1], suffix: m[4], from: a, to: b, isRange: true}
		for i := a; i <= b; i++ {
			run.names = append(run.names, fmt.Sprintf("%s%d%s", m[1], i, m[4]))
		}
	}
	for _, n := range run.names {
		if err := valid(n); err != nil {
			p.errAt(at, "%v", err)
			break
		}
	}
	return run
}

// nameRuns takes the remaining words as names or ranges; comma separates
// names inside a word too (alpha,beta). At least one is required.
func (p *parser) nameRuns(what string, valid func(string) error) []nameRun {
	out := p.nameWord(what, valid)
	for _, more := p.peek(); more; _, more = p.peek() {
		out = append(out, p.nameWord(what, valid)...)
	}
	return out
}

// nameWord takes one word of names: a name, a,b,c, or a range.
func (p *parser) nameWord(what string, valid func(string) error) []nameRun {
	t := p.word(what)
	var out []nameRun
	col := t.Col
	for _, part := range strings.Split(t.Text, ",") {
		if p.err != nil {
			return nil
		}
		out = append(out, p.expandRun(part, col, valid))
		col += len(part) + 1
	}
	return out
}

// allNames flattens runs.
func allNames(runs []nameRun) []string {
	var out []string
	for _, r := range runs {
		out = append(out, r.names...)
	}
	return out
}

// shellFor renders one shell line per run, a range as a for loop over
// seq; line(name) renders the command for one name ($i in a loop).
func shellFor(runs []nameRun, line func(name string) string) string {
	var lines []string
	for _, r := range runs {
		if r.isRange {
			lines = append(lines, fmt.Sprintf("for i in $(seq %d %d); do %s; done", r.from, r.to, line(r.prefix+"$i"+r.suffix)))
		} else {
			lines = append(lines, line(r.names[0]))
		}
	}
	return strings.Join(lines, "\n")
}

// summarize names a list for output: all of a few, the ends of many.
func summarize(names []string) string {
	if len(names) <= 4 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, %s … %s (%d)", names[0], names[1], names[len(names)-1], len(names))
}
