package script

import (
	"context"
	"strings"
	"testing"
)

// TestExpectOutputNamesTheCommandItRead: a learner whose output check
// fails must see which command's output was read, since the last command
// that printed is not always the one the lesson meant.
func TestExpectOutputNamesTheCommandItRead(t *testing.T) {
	tests := []struct {
		name, line, out, of string
		pass                bool
		seen                string
	}{
		{"a match names the command", "expect output contains 8080", "LISTEN 127.0.0.1:8080", "exec -- ss -ltn", true, "`exec -- ss -ltn` printed it"},
		{"a miss names the command", "expect output contains 8080", "LISTEN 127.0.0.1:22", "exec -- ss -ltn", false, "`exec -- ss -ltn` did not print it"},
		{"lacks, failing, names the command", "expect output lacks 22", "LISTEN 127.0.0.1:22", "exec -- ss -ltn", false, "`exec -- ss -ltn` printed it"},
		{"no command printed yet", "expect output contains 8080", "", "", false, "there was no output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := ParseLine("lesson.md", 1, tt.line)
			if err != nil {
				t.Fatal(err)
			}
			env := NewEnv(nil)
			env.setOutputOf(tt.out, tt.of)
			ok, seen, err := st.Action.(*check).test(context.Background(), env)
			if err != nil || ok != tt.pass || !strings.Contains(seen, tt.seen) {
				t.Errorf("%q after %q printed %q: %v %q %v; want %v %q", tt.line, tt.of, tt.out, ok, seen, err, tt.pass, tt.seen)
			}
		})
	}
}
