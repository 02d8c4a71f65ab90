//go:build !linux

package probe

import (
	"fmt"
	"runtime"

	"github.com/nslab/nslab/lab"
)

func unsupported() error {
	return fmt.Errorf("probe: reading namespaces needs Linux, and this is %s: %w", runtime.GOOS, lab.ErrUnsupported)
}

// Take needs Linux.
func Take(pid int, opt Options) (*Snapshot, error) { return nil, unsupported() }

// Self needs Linux.
func Self(opt Options) (*Snapshot, error) { return nil, unsupported() }

func initNamespaces() (map[string]uint64, error) { return nil, unsupported() }

// LoadNames returns names for nothing: there are no namespaces to name.
func LoadNames() *Names { return &Names{} }

// ReadStatus needs Linux.
func ReadStatus(pid int) (Status, error) { return Status{}, unsupported() }

// ReadFamily needs Linux.
func ReadFamily() (*Family, error) { return nil, unsupported() }
