package scenarios

import (
	"errors"
	"strings"
	"testing"

	"github.com/nslab/nslab/lab/script"
)

// withStep adds a step (its body in Markdown) after good's first.
func withStep(body string) string { return good + "\n## Two\n\n" + body }

const twoChecks = "```lab\nnetns add b\n```\n```check\nexpect netns b exists\nexpect link lo -n b down\n```\n"

func TestPredictBlocksParse(t *testing.T) {
	tests := []struct {
		name, block string
		check       func(t *testing.T, p *Predict)
	}{
		{"choices, one marked", "What is in b?\n- [ ] eth0\n- [x] lo, down\n- [ ] nothing", func(t *testing.T, p *Predict) {
			if p.Kind != PredictChoice || len(p.Choices) != 3 || p.Answer != 1 || p.AnswerText() != "lo, down" {
				t.Errorf("%+v", p)
			}
		}},
		{"a number with a tolerance", "How many links\nwill b have?\nnumber: 1 ± 0.5\nwhy: only lo.", func(t *testing.T, p *Predict) {
			if p.Kind != PredictNumber || p.Number != 1 || p.Tolerance != 0.5 || p.Question != "How many links will b have?" || p.Why != "only lo." {
				t.Errorf("%+v", p)
			}
		}},
		{"a range", "How many?\nnumber: 40..60", func(t *testing.T, p *Predict) {
			if p.Number != 50 || p.Tolerance != 10 || p.AnswerText() != "50 ± 10" {
				t.Errorf("%+v", p)
			}
		}},
		{"yes or no, seen by a named check", "Is lo up?\nanswer: no\nsee: expect link lo", func(t *testing.T, p *Predict) {
			if p.Kind != PredictYesNo || p.Yes || p.See != "expect link lo" {
				t.Errorf("%+v", p)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := Parse("p.md", []byte(withStep("```predict\n"+tt.block+"\n```\n"+twoChecks)))
			if err != nil {
				t.Fatal(err)
			}
			st := sc.Steps[1]
			if st.Predict == nil {
				t.Fatal("no predict parsed")
			}
			tt.check(t, st.Predict)
			if st.Predict.See != "" && st.SeeIndex() != 1 {
				t.Errorf("see index %d, want the second check", st.SeeIndex())
			}
		})
	}
}

func TestPredictErrorsArePositioned(t *testing.T) {
	// The predict block opens at line 34: its first line is 35.
	tests := []struct {
		name, block, want string
		line, col         int
	}{
		{"no question", "number: 3", "starts with its question", 35, 1},
		{"no answer", "How many?", "has no answer", 35, 1},
		{"two kinds of answer", "How many?\nnumber: 3\nanswer: yes", "more than one kind", 35, 1},
		{"a bad number", "How many?\nnumber: lots", `number "lots"`, 36, 9},
		{"a bad yes/no", "Up?\nanswer: maybe", `answer "maybe"`, 36, 9},
		{"no choice marked", "Which?\n- [ ] a\n- [ ] b", "no choice is marked", 35, 1},
		{"two choices marked", "Which?\n- [x] a\n- [x] b", "two choices are marked", 37, 4},
		{"one choice", "Which?\n- [x] a", "at least two choices", 35, 1},
		{"a malformed choice", "Which?\n- [y] a\n- [x] b", "a choice reads", 36, 1},
		{"an unknown line suggests the right one", "How many?\nnumbr: 3\nnumber: 3", "did you mean `number`?", 36, 1},
		{"question after the answer", "How many?\nnumber: 3\nAnd why?", "question text after the answer", 37, 1},
		{"see names no check", "Up?\nanswer: no\nsee: expect link eth0", "is the start of none of the step's checks", 37, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.md", []byte(withStep("```predict\n"+tt.block+"\n```\n"+twoChecks)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
			for _, e := range unjoin(err) {
				var se *script.SyntaxError
				if errors.As(e, &se) && strings.Contains(se.Msg, tt.want) && (se.Line != tt.line || se.Col != tt.col) {
					t.Errorf("at %d:%d, want %d:%d: %s", se.Line, se.Col, tt.line, tt.col, se.Msg)
				}
			}
		})
	}
}

func TestAGuessIsJudgedOrAskedAgain(t *testing.T) {
	choice := &Predict{Kind: PredictChoice, Choices: []string{"a", "b"}, Answer: 1}
	num := &Predict{Kind: PredictNumber, Number: 50, Tolerance: 10}
	yn := &Predict{Kind: PredictYesNo, Yes: true}
	tests := []struct {
		p           *Predict
		guess, text string
		right, bad  bool
	}{
		{choice, "2", "b", true, false},
		{choice, "1", "a", false, false},
		{choice, "3", "", false, true},
		{choice, "b", "", false, true},
		{num, "57", "57", true, false},
		{num, "61", "61", false, false},
		{num, "fifty", "", false, true},
		{yn, "Y", "yes", true, false},
		{yn, "no", "no", false, false},
		{yn, "", "", false, true},
	}
	for _, tt := range tests {
		text, right, err := tt.p.Judge(tt.guess)
		if (err != nil) != tt.bad || text != tt.text || right != tt.right {
			t.Errorf("%s guess %q: %q %v %v", tt.p.Kind, tt.guess, text, right, err)
		}
	}
}

func TestAChallengeHasHintsThenASolution(t *testing.T) {
	body := "Bring lo up in b yourself.\n\n```lab\nnetns add b\n```\n```hint\nLook at ip link.\n```\n```hint\nip -n nslab-b link set lo up\n```\n" +
		"```solution\nlink set lo up -n b\n```\n```check\nexpect link lo -n b up within 2m\n```\n"
	sc, err := Parse("c.md", []byte(withStep(body)))
	if err != nil {
		t.Fatal(err)
	}
	st := sc.Steps[1]
	if !st.Challenge() || st.HandsOn() || len(st.Hints) != 2 || len(st.Commands(false)) != 1 || len(st.Commands(true)) != 2 {
		t.Errorf("challenge parsed as %+v", st)
	}
	if len(sc.Warnings) != 0 {
		t.Errorf("warnings for a complete challenge: %v", sc.Warnings)
	}
	noHint := strings.ReplaceAll(body, "```hint\nLook at ip link.\n```\n```hint\nip -n nslab-b link set lo up\n```\n", "")
	if _, err := Parse("c.md", []byte(withStep(noHint))); err == nil || !strings.Contains(err.Error(), "c.md:39:1: challenge \"Two\" has a solution but no hint") {
		t.Errorf("a challenge without a hint: %v", err)
	}
	both := strings.Replace(body, "```solution", "```lab unattended\nlink set lo up -n b\n```\n```solution", 1)
	if _, err := Parse("c.md", []byte(withStep(both))); err == nil || !strings.Contains(err.Error(), "both a solution and a lab unattended block") {
		t.Errorf("a step with both: %v", err)
	}
}

func TestLintWarnsWhereALearnerWouldBeStuck(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"a waiting check without a hint", "```lab unattended\nnetns add b\n```\n```check\nexpect netns b exists within 60s\n```\n", "waits for the learner but has no hint"},
		{"a hands-on step that does not wait", "```lab unattended\nnetns add b\n```\n```check\nexpect netns b exists\n```\n```hint\nip netns add nslab-b\n```\n", "none of its checks waits"},
		{"a waiting output check", "```lab unattended\nconnect tcp 127.0.0.1:9 send hi\n```\n```check\nexpect output contains echo: hi within 60s\n```\n```hint\nx\n```\n", "passes only unattended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := Parse("w.md", []byte(withStep(tt.body)))
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, w := range sc.Warnings {
				var se *script.SyntaxError
				found = found || errors.As(w, &se) && strings.Contains(se.Msg, tt.want) && se.Line > 0
			}
			if !found {
				t.Errorf("warnings %v, want one saying %q", sc.Warnings, tt.want)
			}
		})
	}
}
