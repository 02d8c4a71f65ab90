package backend

import (
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/ui/panels"
)

// Watched is one process the panels follow.
type Watched struct {
	Label string
	PID   int
	Kind  string // a proxy's strategy, "spawned", or "" (this process)
}

// Source reads snapshots for the live panels. Its Snapshot runs in a
// tea.Cmd; it reads /proc through lab/probe and lists links through the
// session (which does its own namespace switching on its own goroutines).
type Source struct {
	Session *lab.Session
	// Watch lists the processes to show; nil shows this process and the
	// session's spawned children.
	Watch func() []Watched
	// Results is the last comparison the lab printed (Lab.Results); nil
	// shows none.
	Results func() *panels.Results
}
