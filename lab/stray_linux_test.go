package lab

import (
	"os"
	"testing"
)

// A dead session's PID can be reused by a lab running now. Its spawned
// children carry the same NSLAB_PARENT; they are not strays to kill.
func TestStrayInitsOfAReusedPIDAreNotKilled(t *testing.T) {
	if err := CheckPrivileges(); err != nil {
		if os.Getenv("NSLAB_REQUIRE_ROOT") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	s, err := NewSession(Options{RunDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.Spawn(SpawnOptions{Name: "reuse", Namespaces: []string{"uts"}})
	if err != nil {
		t.Fatal(err)
	}
	// As if a session with this process's PID had died earlier.
	if killed := killStrayInits(os.Getpid()); len(killed) > 0 {
		t.Errorf("killed %v: children of a running session", killed)
	}
	if exited, err := p.Exited(); exited {
		t.Errorf("the running session's child exited: %v", err)
	}
}
