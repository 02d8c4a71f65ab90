package script

import (
	"fmt"
	"strconv"
	"sync"
)

// traffic is what a lab listener (`listen ... as NAME`) has seen: the
// connections it accepted and the bytes it received. Checks read it to see
// the learner's own traffic: `expect accepted web >= 1` holds the moment a
// learner's curl or socat, from a second terminal, reaches the socket.
type traffic struct {
	mu       sync.Mutex
	accepted int
	received []byte // the first maxReceived bytes
}

// maxReceived bounds what a listener keeps of what it received.
const maxReceived = 64 << 10

func (t *traffic) accept() {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.accepted++
	t.mu.Unlock()
}

func (t *traffic) got(b []byte) {
	if t == nil || len(b) == 0 {
		return
	}
	t.mu.Lock()
	if room := maxReceived - len(t.received); room > 0 {
		t.received = append(t.received, b[:min(len(b), room)]...)
	}
	t.mu.Unlock()
}

func (t *traffic) read() (int, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.accepted, string(t.received)
}

// trafficOf returns the traffic of the open socket called name.
func (e *Env) trafficOf(name string) (*traffic, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t := e.traffic[name]; t != nil {
		return t, nil
	}
	return nil, fmt.Errorf("no open socket called %s (`listen ... as %s` opens one)", name, name)
}

// excerpt shows received text in one line: quoted, at most n bytes.
func excerpt(s string, n int) string {
	if len(s) > n {
		return strconv.Quote(s[:n]) + "…"
	}
	return strconv.Quote(s)
}
