package backend

import "github.com/nslab/nslab/lab"

// Watched is one process the panels follow.
type Watched struct {
	Label string
	PID   int
}

// Source reads snapshots for the live panels. Its Snapshot runs in a
// tea.Cmd; it reads /proc through lab/probe and lists links through the
// session (which does its own namespace switching on its own goroutines).
type Source struct {
	Session *lab.Session
	// Watch lists the processes to show; nil shows this process and the
	// session's spawned children.
	Watch func() []Watched
}
