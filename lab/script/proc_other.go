//go:build !linux

package script

import (
	"time"

	"github.com/nslab/nslab/lab"
)

// waitExit: there are no session processes off Linux.
func waitExit(*lab.Proc, time.Duration) bool { return true }
