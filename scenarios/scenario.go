package scenarios

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/nslab/nslab/lab/script"
)

// Meta is a scenario's front matter.
type Meta struct {
	ID       string   `yaml:"id" json:"id"`
	Title    string   `yaml:"title" json:"title"`
	Summary  string   `yaml:"summary" json:"summary"`
	Level    string   `yaml:"level" json:"level"`
	Minutes  int      `yaml:"minutes" json:"minutes"`
	Tags     []string `yaml:"tags" json:"tags"`
	Requires []string `yaml:"requires" json:"requires"`
}

// Step is one `##` section.
type Step struct {
	Title string
	Line  int
	Prose string        // Markdown outside the fenced blocks
	Lab   []script.Stmt // run, in order
	Check []script.Stmt // asserted after Lab
	// Unattended runs only when nobody is at the keyboard (nslab run
	// --yes, CI): what a hands-on step asks the learner to type in a
	// second terminal, so its `within` check still holds.
	Unattended []script.Stmt
	// Solution makes the step a challenge: its goal is in the prose, its
	// hints are revealed one at a time, and the solution (in the lab's
	// language) comes last. Unattended, the lab runs it, as it runs a
	// hands-on step's unattended block.
	Solution []script.Stmt
	Sh       string   // shown: rendered from the statements (shell.go), then ShExtra
	ShExtra  string   // a hand-written sh block
	Go       string   // shown
	Hint     string   // every hint block, joined: shown when a check fails
	Hints    []string // one per hint block: a challenge reveals them one at a time
	// Predict is asked before the step runs (```predict); nil if none.
	Predict *Predict
	// Requires lists features (keys of Features) this step alone needs, from
	// a ```requires block; Skip says why the step is skipped on a machine
	// without them (set by CheckRequires). The rest of the lesson runs.
	Requires []string
	Skip     string
}

// Scenario is a parsed lesson.
type Scenario struct {
	Meta
	Group     string // the part of the course it belongs to (see Course)
	File      string
	Intro     string // Markdown before the first step
	Steps     []Step
	Embedded  bool   // from the built-in catalog
	Available bool   // this machine has what it requires
	Reason    string // why not, when unavailable
	// Warnings are what `nslab lint` points out without refusing the
	// file (a waiting step without a hint...), each a *script.SyntaxError.
	Warnings []error
}

// Levels a scenario may have.
var Levels = []string{"beginner", "intermediate", "advanced"}

// Features scenarios may require, and what each means.
var Features = map[string]string{
	"sctp":                "SCTP in the kernel (socket(2) gives EPROTONOSUPPORT without it)",
	"userns":              "user namespaces",
	"userns-unprivileged": "user namespaces for unprivileged users",
	"uid-range":           "user ids besides your own in the sandbox (a range in /etc/subuid and newuidmap)",
	"pidns":               "PID namespaces",
	"mntns":               "mount namespaces",
	"uts":                 "UTS namespaces",
	"ipc":                 "IPC namespaces",
	"timens":              "time namespaces",
	"cgroupns":            "cgroup namespaces",
	"bridge":              "bridge links",
	"veth":                "veth links",
	"pidfd":               "pidfd_getfd (sockets of other processes)",
	"tool:socat":          "the socat program",
	"tool:nsenter":        "the nsenter program",
	"tool:ss":             "ss installed",
	"tool:lsns":           "lsns installed",
}

// maxSize bounds a scenario file: lessons are read whole, and checked with
// suggestions that compare names.
const maxSize = 1 << 20

var idRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`) })

// Parse reads one scenario file. Every error is a *script.SyntaxError
// naming file:line:col; all of them are returned, joined.
func Parse(file string, src []byte) (*Scenario, error) {
	sc := &Scenario{File: file}
	var errs []error
	fail := func(line, col int, format string, a ...any) {
		errs = append(errs, &script.SyntaxError{File: file, Line: line, Col: col, Msg: fmt.Sprintf(format, a...)})
	}
	if len(src) > maxSize {
		fail(1, 1, "the file is %d bytes: a scenario is at most %d (split it into lessons)", len(src), maxSize)
		return nil, errors.Join(errs...)
	}
	text := strings.ReplaceAll(string(src), "\r\n", "\n")
	lines := strings.Split(text, "\n")

	// Front matter.
	body := 0
	if len(lines) == 0 || strings.TrimSpace(lines[0]) != "---" {
		fail(1, 1, "a scenario starts with front matter: a line `---`, then id, title, summary, level, minutes, tags, requires, then `---`")
		return nil, errors.Join(errs...)
	}
	end := -1
	for i := 1; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) == "---" {
			end = i
			break
		}
	}
	if end < 0 {
		fail(1, 1, "front matter is not closed: add a line `---` after it")
		return nil, errors.Join(errs...)
	}
	parseMeta(strings.Join(lines[1:end], "\n"), fail, &sc.Meta)
	body = end + 1

	// Body: intro, then steps.
	var cur *Step
	var prose []string
	var shBlocks []shBlock
	// The lab and check blocks each step has, even ones whose lines did
	// not parse: a step whose only check has a typo has a check block (the
	// typo is the error to report, not a missing block).
	hasLab, hasCheck := map[int]bool{}, map[int]bool{}
	// Where each step's solution, unattended and predict blocks open, for
	// errors about them.
	blockLine := map[string]map[int]int{"solution": {}, "unattended": {}, "predict": {}}
	flushProse := func() {
		p := strings.TrimSpace(strings.Join(prose, "\n"))
		if cur == nil {
			sc.Intro = p
		} else {
			cur.Prose = p
		}
	}
	for i := body; i < len(lines); i++ {
		ln := i + 1
		l := lines[i]
		if strings.HasPrefix(l, "## ") {
			flushProse()
			prose = nil
			sc.Steps = append(sc.Steps, Step{Title: strings.TrimSpace(l[3:]), Line: ln})
			cur = &sc.Steps[len(sc.Steps)-1]
			continue
		}
		trim := strings.TrimLeft(l, " ")
		if fence := fenceOf(trim); fence != "" {
			info := strings.TrimSpace(strings.TrimLeft(trim, fence[:1]))
			kind, rest, _ := strings.Cut(info, " ")
			if kind == "lab" && strings.TrimSpace(rest) == "unattended" {
				kind = "unattended"
			}
			if cur != nil && slices.Contains([]string{"solution", "unattended", "predict"}, kind) {
				blockLine[kind][len(sc.Steps)-1] = i + 1
			}
			start := i
			var blk []string
			closed := false
			for i++; i < len(lines); i++ {
				if t := strings.TrimSpace(lines[i]); strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
					closed = true
					break
				}
				blk = append(blk, lines[i])
			}
			if !closed {
				fail(start+1, len(l)-len(trim)+1, "the %s block opened here is never closed: add a line %s", orDefault(kind, "code"), fence)
				if cur != nil {
					hasLab[len(sc.Steps)-1], hasCheck[len(sc.Steps)-1] = true, true // no cascade
				}
				break
			}
			content := strings.Join(blk, "\n")
			switch kind {
			case "lab", "check", "sh", "go", "hint", "unattended", "requires", "predict", "solution":
				if cur == nil {
					fail(start+1, 1, "a `%s` block before the first `##` step: put it inside a step", kind)
					continue
				}
			}
			switch kind {
			case "lab", "check", "unattended", "solution":
				stmts, err := script.Parse(file, start+2, content)
				if err != nil {
					errs = append(errs, err)
				}
				if len(stmts) > 0 || err != nil {
					if kind == "check" {
						hasCheck[len(sc.Steps)-1] = true
					} else {
						hasLab[len(sc.Steps)-1] = true
					}
				}
				for _, st := range stmts {
					if kind == "check" && !st.Cmd.IsCheck {
						fail(st.Line, st.Col, "`%s` in a check block: checks are `expect ...` lines; put commands in a lab block", st.Cmd.Name)
					}
					if kind == "lab" && st.Cmd.IsCheck {
						// An expect in a lab block runs in order; allowed.
					}
				}
				switch kind {
				case "lab":
					cur.Lab = append(cur.Lab, stmts...)
				case "unattended":
					cur.Unattended = append(cur.Unattended, stmts...)
				case "solution":
					cur.Solution = append(cur.Solution, stmts...)
				default:
					cur.Check = append(cur.Check, stmts...)
				}
			case "sh":
				cur.ShExtra = joinBlock(cur.ShExtra, content)
				shBlocks = append(shBlocks, shBlock{line: start + 2, text: content})
			case "go":
				cur.Go = joinBlock(cur.Go, content)
			case "hint":
				cur.Hint = joinBlock(cur.Hint, content)
				if h := strings.TrimSpace(content); h != "" {
					cur.Hints = append(cur.Hints, h)
				}
			case "predict":
				if cur.Predict != nil {
					fail(start+1, 1, "step %q has a second predict block: one question a step", cur.Title)
					continue
				}
				cur.Predict = parsePredict(blk, start+2, fail)
			case "requires":
				for j, l := range blk {
					for _, f := range strings.Fields(l) {
						if _, ok := Features[f]; !ok {
							names := slices.Sorted(maps.Keys(Features))
							fail(start+2+j, strings.Index(l, f)+1, "unknown feature %q in a requires block: use one of %s%s", f, strings.Join(names, ", "), script.DidYouMean(f, names))
							continue
						}
						cur.Requires = append(cur.Requires, f)
					}
				}
			default:
				// Any other fenced block is prose (shown as code).
				prose = append(prose, lines[start:i+1]...)
			}
			continue
		}
		prose = append(prose, l)
	}
	flushProse()

	// Names: every -n NS, child, proxy and socket a line uses must be made
	// by an earlier line (a lab, unattended or check block: `expect netns
	// blue exists within 60s` counts, for hands-on steps).
	scope := script.NewScope()
	for _, st := range sc.Steps {
		for _, x := range slices.Concat(st.Lab, st.Unattended, st.Solution, st.Check) {
			errs = append(errs, scope.Check(x)...)
		}
	}

	errs = append(errs, lintSh(file, shBlocks, sc)...)
	sc.fillShell()

	if len(sc.Steps) == 0 {
		fail(len(lines), 1, "no steps: each step is a `## Title` heading followed by its blocks")
	}
	for i := range sc.Steps {
		st := &sc.Steps[i]
		if len(st.Solution) > 0 && len(st.Unattended) > 0 {
			fail(blockLine["solution"][i], 1, "step %q has both a solution and a lab unattended block: a challenge's solution is what the lab runs unattended", st.Title)
		}
		if len(st.Solution) > 0 && len(st.Hints) == 0 {
			fail(blockLine["solution"][i], 1, "challenge %q has a solution but no hint: give at least one ```hint block, revealed before the solution", st.Title)
		}
		if p := st.Predict; p != nil && p.See != "" {
			if _, ok := p.seeCheck(st); !ok {
				var texts []string
				for _, c := range st.Check {
					texts = append(texts, c.Text)
				}
				fail(p.seeLine, 1, "see: %q is the start of none of the step's checks%s", p.See, script.DidYouMean(p.See, texts))
			}
		}
		if !hasLab[i] && !hasCheck[i] {
			fail(st.Line, 4, "step %q has neither a lab nor a check block: every step does or proves something", st.Title)
		} else if !hasCheck[i] {
			fail(st.Line, 4, "step %q has no check block: add an `expect ...` that proves what the step claims", st.Title)
		}
	}
	if len(errs) == 0 {
		sc.Warnings = lint(sc)
	}
	return sc, errors.Join(errs...)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func joinBlock(a, b string) string {
	if a == "" {
		return b
	}
	return a + "\n" + b
}

// fenceOf returns the fence (``` or ~~~, possibly longer) a line opens.
func fenceOf(l string) string {
	for _, c := range []string{"`", "~"} {
		if strings.HasPrefix(l, c+c+c) {
			n := 0
			for n < len(l) && l[n] == c[0] {
				n++
			}
			return l[:n]
		}
	}
	return ""
}

// parseMeta decodes the front matter, reporting each problem at its line
// (the file's line = the YAML's + 1, after the opening ---).
func parseMeta(src string, fail func(line, col int, format string, a ...any), m *Meta) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		line := 1
		var te *yaml.TypeError
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if !errors.As(err, &te) {
			if rest, ok := strings.CutPrefix(msg, "line "); ok {
				if n, _ := fmt.Sscanf(rest, "%d", &line); n == 1 {
					_, msg, _ = strings.Cut(rest, ": ")
				}
			}
			// yaml.v3 counts lines from 0 in parser errors ("did not find
			// expected ...") and from 1 in scanner errors.
			if strings.HasPrefix(msg, "did not find expected") {
				line++
			}
		}
		fail(max(line, 1)+1, 1, "front matter: %s", msg)
		return
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		fail(2, 1, "front matter must be `key: value` lines")
		return
	}
	known := []string{"id", "title", "summary", "level", "minutes", "tags", "requires"}
	mp := doc.Content[0]
	seen := map[string]bool{}
	for i := 0; i+1 < len(mp.Content); i += 2 {
		k, v := mp.Content[i], mp.Content[i+1]
		if !slices.Contains(known, k.Value) {
			fail(k.Line+1, k.Column, "unknown front matter field %q: expected one of %s%s", k.Value, strings.Join(known, ", "), script.DidYouMean(k.Value, known))
			continue
		}
		seen[k.Value] = true
		var err error
		switch k.Value {
		case "id":
			err = v.Decode(&m.ID)
			if err == nil && !idRe().MatchString(m.ID) {
				fail(v.Line+1, v.Column, "id %q: use lower-case letters, digits and '-'", m.ID)
			}
		case "title":
			err = v.Decode(&m.Title)
		case "summary":
			err = v.Decode(&m.Summary)
		case "level":
			err = v.Decode(&m.Level)
			if err == nil && !slices.Contains(Levels, m.Level) {
				fail(v.Line+1, v.Column, "level %q: expected %s%s", m.Level, strings.Join(Levels, ", "), script.DidYouMean(m.Level, Levels))
			}
		case "minutes":
			err = v.Decode(&m.Minutes)
			if err == nil && (m.Minutes < 1 || m.Minutes > 240) {
				fail(v.Line+1, v.Column, "minutes %d: expected 1 to 240", m.Minutes)
			}
		case "tags":
			err = v.Decode(&m.Tags)
		case "requires":
			if err = v.Decode(&m.Requires); err == nil {
				for j, r := range m.Requires {
					if _, ok := Features[r]; !ok {
						n := v
						if j < len(v.Content) {
							n = v.Content[j]
						}
						var names []string
						for f := range Features {
							names = append(names, f)
						}
						slices.Sort(names)
						fail(n.Line+1, n.Column, "unknown requirement %q: expected one of %s%s", r, strings.Join(names, ", "), script.DidYouMean(r, names))
					}
				}
			}
		}
		if err != nil {
			fail(v.Line+1, v.Column, "front matter field %s: %s", k.Value, strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  "))
		}
	}
	for _, k := range []string{"id", "title", "summary", "level", "minutes"} {
		if !seen[k] {
			fail(2, 1, "front matter lacks %q", k)
		}
	}
}

// CheckRequires marks the scenario available or not on a machine with the
// given features (lab.Features(lab.Doctor())).
func (s *Scenario) CheckRequires(have map[string]bool) {
	s.Available, s.Reason = true, ""
	var missing []string
	for _, r := range s.Requires {
		if !have[r] {
			missing = append(missing, Features[r])
		}
	}
	if len(missing) > 0 {
		s.Available = false
		s.Reason = "needs " + strings.Join(missing, " and ") + ", which this machine lacks (see `nslab doctor`)"
	}
	for i := range s.Steps {
		st := &s.Steps[i]
		st.Skip = ""
		var lack []string
		for _, r := range st.Requires {
			if !have[r] {
				lack = append(lack, Features[r])
			}
		}
		if len(lack) > 0 {
			st.Skip = "this step needs " + strings.Join(lack, " and ") + ", which this machine lacks (see `nslab doctor`)"
		}
	}
}

// Programs lists the host programs a scenario runs with exec or spawn --, so
// a scenario from outside the catalog can be shown before it runs.
func (s *Scenario) Programs() []string {
	var out []string
	for _, st := range s.Steps {
		for _, x := range slices.Concat(st.Lab, st.Unattended, st.Solution, st.Check) {
			if x.Cmd.Name != "exec" && x.Cmd.Name != "spawn" {
				continue
			}
			if _, after, ok := strings.Cut(x.Text, " -- "); ok && !slices.Contains(out, after) {
				out = append(out, after)
			}
		}
	}
	return out
}
