package backend

import (
	"sync"
	"time"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/probe"
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

	mu       sync.Mutex
	links    map[string]linkRead // the topology's last read of each namespace
	names    *probe.Names        // the last names loaded, for namesKey
	namesKey string              // the lab's namespaces and processes then
	namesAt  time.Time
}

// linkRead is one namespace's links as last listed.
type linkRead struct {
	links []lab.LinkInfo
	at    time.Time
}

// What a refresh costs is part of the panels' design: 1 Hz must stay
// under 3 % of a core with 300 namespaces and three compared workers.
const (
	// topoFresh namespaces, the first in order (those the topology draws
	// first, and every namespace of a lesson with fewer), are listed at
	// every refresh; of the rest, topoRoll, the longest unread first, so
	// each of 300 is at most (300-12)/8 = 36 refreshes old.
	topoFresh, topoRoll = 12, 8
	// namesMaxAge: names are loaded again when the lab's namespaces or
	// processes change, else this often (a namespace made by hand in a
	// second terminal is named within it).
	namesMaxAge = 10 * time.Second
	// pssMaxAge: a process whose RSS has not moved keeps its PSS this
	// long before smaps_rollup is walked again.
	pssMaxAge = 30 * time.Second
	// socketsMaxAge: another process holding as many descriptors keeps
	// its sockets this long before each is asked again (one opened or
	// closed is read at once; this process's own, where the learner's
	// listen and connect land, are read at every refresh).
	socketsMaxAge = 10 * time.Second
	// threadsMaxAge: another process with 64 threads or more (a
	// thread-per-namespace worker) keeps its threads' namespaces this long
	// while its thread count holds.
	threadsMaxAge = 10 * time.Second
)
