package script

import (
	"strings"
	"testing"
)

// expect pid parses with any comparison and a wait, and its shell form
// reads NSpid. (Its errors are in TestParseErrorsSayWhereAndWhat.)
func TestExpectPIDParses(t *testing.T) {
	for _, line := range []string{"expect pid c1 == 1", "expect pid c1 == 1 within 5s", "expect pid self > 1"} {
		st, err := ParseLine("lesson.md", 3, line)
		if err != nil {
			t.Fatalf("ParseLine(%q): %v", line, err)
		}
		if st.Cmd != cmdExpect {
			t.Fatalf("%q parsed as %q, want an expect check", line, st.Cmd.Name)
		}
		if !strings.Contains(st.Shell(), "NSpid") {
			t.Errorf("shell %q does not show NSpid", st.Shell())
		}
	}
}
