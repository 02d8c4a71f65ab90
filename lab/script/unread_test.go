package script

import (
	"strings"
	"testing"

	"github.com/nslab/nslab/lab/probe"
)

// A figure the probe could not read is an error of the check, never a
// count of zero compared as a number.
func TestUnreadFiguresAreErrorsNotZeros(t *testing.T) {
	s := &probe.Snapshot{Errors: map[string]string{"threads": "permission denied"}}
	if err := unread(s, "tst", "status"); err != nil {
		t.Errorf("status was read, got %v", err)
	}
	err := unread(s, "tst", "threads")
	if err == nil || !strings.Contains(err.Error(), "threads of tst: permission denied") {
		t.Errorf("threads unread: %v", err)
	}
	s = &probe.Snapshot{Errors: map[string]string{"process": "exited while being read"}}
	if err := unread(s, "tst", "status"); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Errorf("an exited process: %v", err)
	}
}
