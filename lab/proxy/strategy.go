package proxy

import (
	"fmt"
	"strings"
)

// Strategy is how a proxy spends OS threads on namespaces. Each is honest
// to what a straightforward implementation of it does, so the lab can
// compare real thread counts and memory side by side.
type Strategy string

const (
	// Shared enters a namespace only to make sockets (one locked switch
	// per tenant), then serves every socket with the netpoller: threads
	// stay near GOMAXPROCS whatever the number of namespaces.
	Shared Strategy = "shared"
	// ThreadPerNamespace gives each namespace a goroutine locked to its
	// own OS thread, which enters the namespace and never leaves; it makes
	// that namespace's sockets and connections. About N threads.
	ThreadPerNamespace Strategy = "thread-per-namespace"
	// ProcessPerNamespace starts a child process inside each namespace,
	// as `ip netns exec NS proxy` would. N processes, each with its own
	// threads and memory.
	ProcessPerNamespace Strategy = "process-per-namespace"
	// BlockingAccept binds like Shared but waits in a blocking accept(2)
	// (recvfrom(2) for UDP) per listener, as a library with a blocking
	// accept loop does: every waiting listener holds an OS thread.
	BlockingAccept Strategy = "blocking-accept"
)

// Strategies lists every strategy, the default first.
func Strategies() []Strategy {
	return []Strategy{Shared, ThreadPerNamespace, ProcessPerNamespace, BlockingAccept}
}

// ParseStrategy accepts a strategy's name ("" is Shared).
func ParseStrategy(s string) (Strategy, error) {
	if s == "" {
		return Shared, nil
	}
	for _, st := range Strategies() {
		if string(st) == s {
			return st, nil
		}
	}
	names := make([]string, 0, 4)
	for _, st := range Strategies() {
		names = append(names, string(st))
	}
	return "", fmt.Errorf("unknown strategy %q: use one of %s", s, strings.Join(names, ", "))
}
