package main

import (
	"encoding/json"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
)

// Every lesson in the catalog runs unattended and every check passes (or
// the lesson is skipped for a stated, kernel-caused reason).
func TestEveryScenarioRunsUnattended(t *testing.T) {
	labtest.RequireRoot(t)
	if testing.Short() {
		t.Skip("runs the whole catalog")
	}
	out, stderr, code := nslab(t, "run", "--all", "--yes", "--json")
	var all runAllReport
	if err := json.Unmarshal([]byte(out), &all); err != nil || all.Schema != jsonSchema {
		t.Fatalf("exit %d, not JSON of schema %d: %v\n%s\n%s", code, jsonSchema, err, out, stderr)
	}
	reps := all.Runs
	if all.DurationMs <= 0 || all.OK != (code == 0) {
		t.Errorf("duration_ms %v, ok %v with exit %d", all.DurationMs, all.OK, code)
	}
	if len(reps) < 9 {
		t.Errorf("only %d scenarios ran", len(reps))
	}
	for _, r := range reps {
		if r.Skipped != "" {
			t.Logf("%s skipped: %s", r.ID, r.Skipped)
			continue
		}
		for _, st := range r.Steps {
			if st.DurationMs <= 0 {
				t.Errorf("%s step %d: duration_ms %v", r.ID, st.N, st.DurationMs)
			}
			for _, c := range append(st.Commands, st.Checks...) {
				if !c.OK {
					t.Errorf("%s step %d (%s): %s: %s", r.ID, st.N, st.Title, c.Text, c.Error)
				}
			}
		}
		if !r.OK {
			t.Errorf("%s did not pass", r.ID)
		}
	}
	if code != 0 {
		t.Errorf("exit %d\n%s", code, stderr)
	}
}
