package lab_test

import (
	"errors"
	"os"
	"strconv"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

// A setup registered at init, as lab/script registers its switch demo: it
// runs in the child and reports the child's PID, which the parent must see
// as Proc.Note.
func init() {
	lab.RegisterChildSetup("test-pid", func(arg string) (string, error) {
		return arg + " " + strconv.Itoa(os.Getpid()), nil
	})
}

func TestASpawnedChildRunsItsSetupInside(t *testing.T) {
	s := labtest.New(t)
	p, err := s.Spawn(lab.SpawnOptions{Name: "setup", Namespaces: []string{"pid"}, Setup: &lab.ChildSetup{Name: "test-pid", Arg: "pid"}})
	if err != nil {
		t.Fatal(err)
	}
	// In its own PID namespace the child is PID 1.
	if p.Note != "pid 1" {
		t.Errorf("note %q, want %q", p.Note, "pid 1")
	}
	_, err = s.Spawn(lab.SpawnOptions{Name: "nosetup", Setup: &lab.ChildSetup{Name: "nosuch"}})
	if !errors.Is(err, lab.ErrInvalid) {
		t.Errorf("a setup nobody registered: %v, want ErrInvalid", err)
	}
}
