package proxy

import "fmt"

// SetConnHook has every relay the shared strategy's event loops start
// reported to h, with its client and upstream descriptors (valid only
// during the call), until undo.
func SetConnHook(h func(listenIno, targetIno uint64, client, upstream int)) (undo func()) {
	testConnHook.Store(&h)
	return func() { testConnHook.Store(nil) }
}

// Held lists the namespaces p holds, as "ref net:[ino] refs=N".
func Held(p *Proxy) []string {
	var out []string
	p.nst.mu.Lock()
	defer p.nst.mu.Unlock()
	for _, e := range p.nst.m {
		out = append(out, fmt.Sprintf("%s net:[%d] refs=%d", e.ref, e.ino, e.refs))
	}
	return out
}

// Tick runs one tick of p's watcher (what Config.Rescan's timer runs).
func Tick(p *Proxy) { p.watch.check(true) }

// Polls reports whether p's watcher has anything to look at on a tick
// (its timer runs only then).
func Polls(p *Proxy) bool { return p.watch.polls() }
