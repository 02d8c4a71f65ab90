package script

import (
	"context"
	"fmt"
	"strings"
)

// containsText parses `contains|lacks TEXT`, TEXT being the rest of the
// line.
func (p *parser) containsText() (verb, text string) {
	v := p.keyword("contains", "lacks")
	if _, ok := p.peek(); !ok {
		p.errAt(Token{Col: p.end}, "missing the text to look for")
	}
	return v.Text, strings.Join(p.rest(), " ")
}

func expectOutput(p *parser) (*check, error) {
	verb, text := p.containsText()
	want := verb == "contains"
	return &check{desc: fmt.Sprintf("the last output %s %q", verb, text),
		test: func(_ context.Context, env *Env) (bool, string, error) {
			out, of := env.LastOutput()
			has := strings.Contains(out, text)
			seen := "it does"
			if !has {
				seen = "it does not"
			}
			if of != "" { // which output was read: the last command that printed
				seen = fmt.Sprintf("`%s` printed it", of)
				if !has {
					seen = fmt.Sprintf("`%s` did not print it", of)
				}
			}
			// The line that holds it (or the first): the answer a
			// prediction is set beside.
			line, _, _ := strings.Cut(out, "\n")
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, text) {
					line = l
					break
				}
			}
			if line = strings.TrimSpace(line); line != "" {
				seen += ": " + excerpt(line, 60)
			}
			if out == "" {
				seen = "there was no output"
			}
			return has == want, seen, nil
		},
		cond:        condOutput(text, want),
		readsOutput: true,
		gocode:      fmt.Sprintf("strings.Contains(out, %q)", text),
	}, nil
}
