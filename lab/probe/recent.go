package probe

import (
	"slices"
	"sync"
	"time"
)

// lastRead keeps, per PID, what a snapshot read of a process (its sockets,
// its threads) with a count that changes whenever that list does (its
// descriptors, its threads), for Options.SocketsMaxAge and ThreadsMaxAge.
type lastRead[T any] struct {
	mu sync.Mutex
	m  map[int]readAt[T]
}

type readAt[T any] struct {
	comm  string
	ppid  int
	n     int
	items []T
	at    time.Time
}

// maxRemembered bounds a lastRead; past it, it starts over.
const maxRemembered = 256

// get returns a copy of the list read of s.PID if the process is the same
// (parent and name), has the same count n, and the read is younger than
// maxAge.
func (c *lastRead[T]) get(s *Snapshot, n int, maxAge time.Duration) ([]T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[s.PID]
	if !ok || e.comm != s.Comm || e.ppid != s.PPID || e.n != n || time.Since(e.at) >= maxAge {
		return nil, false
	}
	return slices.Clone(e.items), true
}

func (c *lastRead[T]) put(s *Snapshot, n int, items []T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxRemembered {
		clear(c.m)
	}
	c.m[s.PID] = readAt[T]{s.Comm, s.PPID, n, slices.Clone(items), time.Now()}
}
