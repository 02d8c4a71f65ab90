package script

import (
	"time"

	"github.com/nslab/nslab/lab"
)

// waitExit waits up to d for a session process to exit.
func waitExit(p *lab.Proc, d time.Duration) bool {
	select {
	case <-p.Done():
		return true
	case <-time.After(d):
		return false
	}
}
