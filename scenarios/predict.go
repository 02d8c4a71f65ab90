package scenarios

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/nslab/nslab/lab/script"
)

// Predict is a question asked before a step runs; the learner's guess is
// then shown beside what the kernel showed. A ```predict block holds the
// question, then one answer kind:
//
//	How many threads will tst have at 50 tenants?
//	number: 55 ± 10
//
//	What happens to veth0 when c's namespace is destroyed?
//	- [ ] it stays, down
//	- [x] it is destroyed with its peer
//
//	Will the mount show up on the host?
//	answer: no
//
// and optionally `see: CHECK` (the step's check whose result is the live
// answer, by the start of its text; default its first check) and `why:
// TEXT` (shown after the guess).
type Predict struct {
	Line      int      `json:"-"`
	Question  string   `json:"question"`
	Kind      string   `json:"kind"` // choice, number, yesno
	Choices   []string `json:"choices,omitempty"`
	Answer    int      `json:"-"` // choice: index into Choices
	Number    float64  `json:"-"` // number
	Tolerance float64  `json:"-"`
	Yes       bool     `json:"-"` // yesno
	See       string   `json:"-"` // the text of the check that shows the live result
	Why       string   `json:"why,omitempty"`
	seeLine   int
}

// Predict kinds.
const (
	PredictChoice = "choice"
	PredictNumber = "number"
	PredictYesNo  = "yesno"
)

var predictKeys = []string{"number", "answer", "see", "why"}

// parsePredict reads a ```predict block whose first line is file line
// first, reporting errors with fail.
func parsePredict(lines []string, first int, fail func(line, col int, format string, a ...any)) *Predict {
	p := &Predict{Line: first - 1}
	var question []string
	kinds, marked := 0, 0
	for i, raw := range lines {
		ln := first + i
		l := strings.TrimSpace(raw)
		col := len(raw) - len(strings.TrimLeft(raw, " \t")) + 1
		switch {
		case l == "":
			continue
		case strings.HasPrefix(l, "- ["):
			box, text, ok := strings.Cut(l[3:], "]")
			text = strings.TrimSpace(text)
			if !ok || (box != " " && box != "x" && box != "X") || text == "" {
				fail(ln, col, "a choice reads `- [ ] TEXT`, or `- [x] TEXT` for the right one")
				continue
			}
			if box != " " {
				if marked++; marked > 1 {
					fail(ln, col+3, "two choices are marked [x]: mark exactly one as the right answer")
				}
				p.Answer = len(p.Choices)
			}
			if p.Kind != PredictChoice {
				kinds++
				p.Kind = PredictChoice
			}
			p.Choices = append(p.Choices, text)
			continue
		}
		key, val, isKey := strings.Cut(l, ":")
		key = strings.TrimSpace(key)
		if !isKey || strings.ContainsAny(key, " `?") || len(question) == 0 && p.Kind == "" && !knownKey(key) {
			if p.Kind != "" || p.See != "" || p.Why != "" {
				fail(ln, col, "question text after the answer: the question comes first, then `number:`, `answer:` or the `- [ ]` choices")
				continue
			}
			question = append(question, l)
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "number":
			kinds++
			p.Kind = PredictNumber
			n, tol, err := parseNumber(val)
			if err != nil {
				fail(ln, col+len(key)+2, "%v", err)
			}
			p.Number, p.Tolerance = n, tol
		case "answer":
			kinds++
			p.Kind = PredictYesNo
			switch strings.ToLower(val) {
			case "yes":
				p.Yes = true
			case "no":
			default:
				fail(ln, col+len(key)+2, "answer %q: a yes/no question's answer is `yes` or `no` (for several choices, list them as `- [ ] TEXT`)", val)
			}
		case "see":
			p.See, p.seeLine = val, ln
			if val == "" {
				fail(ln, col, "see: give the start of one of the step's checks, as in `see: expect threads tst`")
			}
		case "why":
			p.Why = val
		default:
			fail(ln, col, "unknown line %q in a predict block: expected %s, or choices `- [ ] TEXT`%s", key+":", strings.Join(predictKeys, ":, ")+":", script.DidYouMean(key, predictKeys))
		}
	}
	p.Question = strings.Join(question, " ")
	switch {
	case p.Question == "":
		fail(first, 1, "a predict block starts with its question")
	case kinds == 0:
		fail(first, 1, "the predict block has no answer: add `number: N ± T`, `answer: yes|no`, or choices `- [ ] TEXT` with one `- [x]`")
	case kinds > 1:
		fail(first, 1, "the predict block has more than one kind of answer: use one of `number:`, `answer:` or `- [ ]` choices")
	case p.Kind == PredictChoice && len(p.Choices) < 2:
		fail(first, 1, "a choice question needs at least two choices")
	case p.Kind == PredictChoice && marked == 0:
		fail(first, 1, "no choice is marked as the right one: write it `- [x] TEXT`")
	}
	return p
}

func knownKey(k string) bool {
	for _, x := range predictKeys {
		if k == x {
			return true
		}
	}
	return false
}

// parseNumber reads "55", "55 ± 10", "55 +- 10" or "50..60".
func parseNumber(s string) (n, tol float64, err error) {
	bad := fmt.Errorf("number %q: write the answer as `55`, `55 ± 10` or `50..60`", s)
	if lo, hi, ok := strings.Cut(s, ".."); ok {
		a, err1 := strconv.ParseFloat(strings.TrimSpace(lo), 64)
		b, err2 := strconv.ParseFloat(strings.TrimSpace(hi), 64)
		if err1 != nil || err2 != nil || b < a {
			return 0, 0, bad
		}
		return (a + b) / 2, (b - a) / 2, nil
	}
	for _, sep := range []string{"±", "+-", "+/-"} {
		if v, t, ok := strings.Cut(s, sep); ok {
			a, err1 := strconv.ParseFloat(strings.TrimSpace(v), 64)
			b, err2 := strconv.ParseFloat(strings.TrimSpace(t), 64)
			if err1 != nil || err2 != nil || b < 0 {
				return 0, 0, bad
			}
			return a, b, nil
		}
	}
	a, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, 0, bad
	}
	return a, 0, nil
}

// AnswerText is the right answer as the learner reads it.
func (p *Predict) AnswerText() string {
	switch p.Kind {
	case PredictChoice:
		return p.Choices[p.Answer]
	case PredictNumber:
		if p.Tolerance == 0 {
			return strconv.FormatFloat(p.Number, 'f', -1, 64)
		}
		return fmt.Sprintf("%s ± %s", strconv.FormatFloat(p.Number, 'f', -1, 64), strconv.FormatFloat(p.Tolerance, 'f', -1, 64))
	}
	if p.Yes {
		return "yes"
	}
	return "no"
}

// Judge reads a guess as the learner typed it (a choice's number, a
// number, yes or no), and says whether it is right. A guess that does not
// read is an error to show while asking again, never a wrong answer.
func (p *Predict) Judge(guess string) (text string, right bool, err error) {
	g := strings.TrimSpace(guess)
	switch p.Kind {
	case PredictChoice:
		n, err := strconv.Atoi(g)
		if err != nil || n < 1 || n > len(p.Choices) {
			return "", false, fmt.Errorf("type the number of a choice, 1 to %d", len(p.Choices))
		}
		return p.Choices[n-1], n-1 == p.Answer, nil
	case PredictNumber:
		v, err := strconv.ParseFloat(g, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return "", false, fmt.Errorf("type a number")
		}
		return g, math.Abs(v-p.Number) <= p.Tolerance, nil
	}
	switch strings.ToLower(g) {
	case "y", "yes":
		return "yes", p.Yes, nil
	case "n", "no":
		return "no", !p.Yes, nil
	}
	return "", false, fmt.Errorf("type yes or no")
}

// Prompt is the question with its choices, as `nslab run` asks it.
func (p *Predict) Prompt() string {
	var b strings.Builder
	b.WriteString(p.Question)
	switch p.Kind {
	case PredictChoice:
		for i, c := range p.Choices {
			fmt.Fprintf(&b, "\n  %d. %s", i+1, c)
		}
	case PredictYesNo:
		b.WriteString(" [yes/no]")
	}
	return b.String()
}

// seeCheck finds the check of st whose live result answers the question.
func (p *Predict) seeCheck(st *Step) (int, bool) {
	if len(st.Check) == 0 {
		return -1, false
	}
	if p.See == "" {
		return 0, true
	}
	for i, c := range st.Check {
		if strings.HasPrefix(c.Text, p.See) {
			return i, true
		}
	}
	return -1, false
}

// SeeIndex is the index in Step.Check of the check whose result is the
// live answer (-1 if the step has no check).
func (st *Step) SeeIndex() int {
	if st.Predict == nil {
		return -1
	}
	i, _ := st.Predict.seeCheck(st)
	return i
}
