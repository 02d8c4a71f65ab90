package proxy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A worker that dies at start-up has its last log lines shown with the
// error (the log is a file now, not the caller's terminal).
func TestLogTailShowsTheEndOfTheLog(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.log")
	os.WriteFile(empty, []byte("\n"), 0o600)
	if got := logTail(empty); got != "" {
		t.Errorf("empty log gave %q", got)
	}
	if got := logTail(filepath.Join(dir, "missing.log")); got != "" {
		t.Errorf("missing log gave %q", got)
	}
	long := filepath.Join(dir, "w.log")
	os.WriteFile(long, []byte(strings.Repeat("x", 5000)+"\npanic: boom\n"), 0o600)
	got := logTail(long)
	if !strings.HasSuffix(got, "panic: boom") || !strings.Contains(got, long) || len(got) > 2048+len(long)+40 {
		t.Errorf("tail = %d bytes, ends %q", len(got), got[max(0, len(got)-40):])
	}
}
