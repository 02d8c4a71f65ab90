//go:build !linux

package backend

import (
	"context"
	"fmt"
	"runtime"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/ui/panels"
)

// Snapshot says why there is nothing to read here.
func (s *Source) Snapshot(context.Context) (*panels.Snapshot, error) {
	return nil, fmt.Errorf("the panels read /proc, and this is %s: %w", runtime.GOOS, lab.ErrUnsupported)
}
