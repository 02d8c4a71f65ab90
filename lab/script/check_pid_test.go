package script

import (
	"strings"
	"testing"
)

func TestExpectPIDParses(t *testing.T) {
	tests := []struct {
		name, line string
		col        int // 0: parses
		want       string
	}{
		{"a child compared with 1", "expect pid c1 == 1", 0, ""},
		{"with a wait", "expect pid c1 == 1 within 5s", 0, ""},
		{"any comparison", "expect pid self > 1", 0, ""},
		{"a missing number is named", "expect pid c1 ==", 17, "missing a number"},
		{"a PID is at least 1", "expect pid c1 == 0", 18, "want a PID"},
		{"a bad operator lists the right ones", "expect pid c1 = 1", 15, "expected `<=`"},
		{"left-over words are reported", "expect pid c1 == 1 now", 20, "unexpected `now`"},
		{"a bad within", "expect pid c1 == 1 within soon", 27, "duration like 30s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := ParseLine("lesson.md", 3, tt.line)
			if tt.col == 0 {
				if err != nil {
					t.Fatalf("ParseLine(%q): %v", tt.line, err)
				}
				if st.Cmd != cmdExpect {
					t.Fatalf("%q parsed as %q, want an expect check", tt.line, st.Cmd.Name)
				}
				if !strings.Contains(st.Shell(), "NSpid") {
					t.Errorf("shell %q does not show NSpid", st.Shell())
				}
				return
			}
			wantSyntaxError(t, err, "lesson.md", 3, tt.col, tt.want)
		})
	}
}
