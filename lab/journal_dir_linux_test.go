package lab

import (
	"os"
	"path/filepath"
	"testing"
)

// A directory a dead run made under the run directory (a proxy bench's
// configs, logs and sockets) goes with everything in it; one a journal
// names elsewhere is refused and left as it is.
func TestCleanupRemovesADeadRunsDirectoryAndNothingOutside(t *testing.T) {
	if err := CheckPrivileges(); err != nil {
		t.Skip(err)
	}
	run := t.TempDir()
	outside := t.TempDir()
	inside, err := os.MkdirTemp(run, "bench-peers-")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{inside, outside} {
		if err := os.WriteFile(filepath.Join(d, "haproxy-1.log"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	j, err := openJournal(run, "dead")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{inside, outside} {
		if err := j.Add(Entry{Kind: KindDir, Path: d}); err != nil {
			t.Fatal(err)
		}
	}
	j.close(false) // as kill -9 leaves it: the journal, unlocked

	rep, err := Cleanup(run)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(inside); !os.IsNotExist(err) {
		t.Errorf("the dead run's %s is still there (stat: %v); report %+v", inside, err, rep)
	}
	if _, err := os.Stat(filepath.Join(outside, "haproxy-1.log")); err != nil {
		t.Errorf("cleanup removed %s, which is outside the run directory: %v", outside, err)
	}
	if len(rep.Removed) != 1 || rep.Removed[0] != "directory "+inside {
		t.Errorf("removed %q, want just directory %s", rep.Removed, inside)
	}
	if len(rep.Failed) != 1 {
		t.Errorf("failed %q, want the directory outside %s refused", rep.Failed, run)
	}
}
