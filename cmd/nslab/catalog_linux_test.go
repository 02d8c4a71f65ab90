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
	labtest.RequireRoot(t)
	if testing.Short() {
		t.Skip("runs the whole catalog")
	}
	dir := t.TempDir()
	out, stderr, code := nslab(t, "run", "--all", "--yes", "--json", "--record", filepath.Join(dir, "{id}.sh"))
	var reps []runReport
	if err := json.Unmarshal([]byte(out), &reps); err != nil {
		t.Fatalf("exit %d, not JSON: %v\n%s\n%s", code, err, out, stderr)
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
	runShellExports(t, dir, reps)
}
