package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
)

// Every lesson in the catalog runs unattended and every check passes (or
// the lesson is skipped for a stated, kernel-caused reason); then every
// lesson's shell export, recorded by the same run, runs green without
// nslab and leaves nothing (record_linux_test.go).
func TestEveryScenarioRunsUnattended(t *testing.T) {
	labtest.Long(t, "runs the whole catalog")
	dir := t.TempDir()
	out, stderr, code := nslab(t, "run", "--all", "--yes", "--json", "--record", filepath.Join(dir, "{id}.sh"))
	var all runAllReport
	if err := json.Unmarshal([]byte(out), &all); err != nil || all.Schema != jsonSchema {
		t.Fatalf("exit %d, not JSON of schema %d: %v\n%s\n%s", code, jsonSchema, err, out, stderr)
	}
	reps := all.Runs
	if all.DurationMs <= 0 || all.OK != (code == 0) {
		t.Errorf("duration_ms %v, ok %v with exit %d", all.DurationMs, all.OK, code)
	}
	assertLessonsPass(t, reps, func(string) bool { return true })
	if code != 0 {
		t.Errorf("exit %d\n%s", code, stderr)
	}
	runShellExports(t, dir, reps)
}

// assertLessonsPass fails for every command and check of the reports that
// did not pass, and for a lesson skipped for a reason skipOK refuses.
func assertLessonsPass(t *testing.T, reps []runReport, skipOK func(reason string) bool) {
	t.Helper()
	if len(reps) < 15 {
		t.Errorf("only %d lessons ran", len(reps))
	}
	for _, r := range reps {
		if r.Skipped != "" {
			if !skipOK(r.Skipped) {
				t.Errorf("%s skipped: %s", r.ID, r.Skipped)
			}
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
}
