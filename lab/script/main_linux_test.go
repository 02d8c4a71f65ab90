package script_test

import (
	"testing"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/script"
)

func TestMain(m *testing.M) { labtest.Main(m) }

// newRunner is a runner on a fresh lab session (labtest.New: root, and
// nothing left behind), closed when the test ends.
func newRunner(t *testing.T) (*script.Runner, *lab.Session) {
	s := labtest.New(t)
	r := script.NewRunner(s)
	t.Cleanup(func() { r.Close() })
	return r, s
}
