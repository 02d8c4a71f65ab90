package proxy

import (
	"sync"
	"sync/atomic"
	"time"
)

// tenantGate is one tenant's share of the limits: its open connections
// and its token bucket. It outlives rebinds of the tenant's namespace and
// goes when the tenant is removed.
type tenantGate struct {
	name   string
	active atomic.Int64

	mu      sync.Mutex
	tokens  float64
	last    time.Time
	waiting []*listener // paused until one of this tenant's connections ends
}

// gateOf returns the tenant's gate, made on first use; nil for routes that
// belong to no tenant (limits are per tenant).
func (p *Proxy) gateOf(name string) *tenantGate {
	if name == "" {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.gates[name]
	if g == nil {
		g = &tenantGate{name: name}
		p.gates[name] = g
	}
	return g
}

// admit takes a connection slot for a new client of g's tenant (g may be
// nil): one of the proxy's max_conns, one of the tenant's, and a token of
// its accept rate. If a limit stands in the way it takes nothing and says
// which, and for the rate, when a token will be there.
func (p *Proxy) admit(g *tenantGate) (bool, limitKind, time.Duration) {
	if max := int64(p.maxConns()); p.open.Add(1) > max {
		p.open.Add(-1)
		return false, limitMaxConns, 0
	}
	if g == nil {
		return true, 0, 0
	}
	lim := p.conf().Limits
	if lim.MaxConns > 0 && g.active.Add(1) > int64(lim.MaxConns) {
		g.active.Add(-1)
		p.open.Add(-1)
		return false, limitTenantConns, 0
	} else if lim.MaxConns <= 0 {
		g.active.Add(1)
	}
	if lim.AcceptRate > 0 {
		if wait := g.take(lim); wait > 0 {
			g.active.Add(-1)
			p.open.Add(-1)
			return false, limitRate, wait
		}
	}
	return true, 0, 0
}

// take takes one token from the bucket, or says how long until there is one.
func (g *tenantGate) take(lim Limits) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	if g.last.IsZero() {
		g.tokens = lim.burst()
	} else {
		g.tokens = min(lim.burst(), g.tokens+now.Sub(g.last).Seconds()*lim.AcceptRate)
	}
	g.last = now
	if g.tokens >= 1 {
		g.tokens--
		return 0
	}
	return time.Duration((1 - g.tokens) / lim.AcceptRate * float64(time.Second))
}

// unadmit gives back what admit took, for a client that did not come
// after all (the accept found nobody waiting).
func (p *Proxy) unadmit(g *tenantGate) {
	p.open.Add(-1)
	if g != nil {
		g.active.Add(-1)
	}
}

// leave gives back a connection's slots when it ends, and wakes the
// listeners that paused for them.
func (p *Proxy) leave(g *tenantGate) {
	p.open.Add(-1)
	if g != nil {
		g.active.Add(-1)
		g.wake()
	}
	if p.slotWaiters.Load() > 0 {
		p.leaveNone()
	}
	if p.waiters.Load() > 0 { // goroutine-served listeners blocked in acquire
		p.waitMu.Lock()
		p.freed.Broadcast()
		p.waitMu.Unlock()
	}
}

// acquire is admit for a listener served by goroutines (the blocking and
// thread-per-namespace strategies, SCTP): it waits until admitted or done
// is closed.
func (p *Proxy) acquire(g *tenantGate, done <-chan struct{}) bool {
	for {
		ok, _, wait := p.admit(g)
		if ok {
			return true
		}
		if wait <= 0 || wait > 100*time.Millisecond {
			wait = 100 * time.Millisecond
		}
		// Woken by leave, or at worst after wait: a rate limit frees a
		// token by time, not by a connection ending.
		p.waiters.Add(1)
		t := time.AfterFunc(wait, func() {
			p.waitMu.Lock()
			p.freed.Broadcast()
			p.waitMu.Unlock()
		})
		p.waitMu.Lock()
		select {
		case <-done:
			p.waitMu.Unlock()
			t.Stop()
			p.waiters.Add(-1)
			return false
		default:
		}
		p.freed.Wait()
		p.waitMu.Unlock()
		t.Stop()
		p.waiters.Add(-1)
		select {
		case <-done:
			return false
		default:
		}
	}
}

// pauseFor stops accepting on ln until the limit that stopped it allows
// again: a connection of the proxy or of the tenant ends, or the rate's
// next token is due. Meanwhile its clients wait in the kernel's accept
// queue, which is the tenant's own.
func (ln *listener) pauseFor(kind limitKind, wait time.Duration) {
	if !ln.pause() {
		return
	}
	switch kind {
	case limitMaxConns:
		p := ln.p
		p.waitMu.Lock()
		p.waitSlot = append(p.waitSlot, ln)
		p.slotWaiters.Store(int64(len(p.waitSlot)))
		p.waitMu.Unlock()
		if p.open.Load() < int64(p.maxConns()) { // one ended meanwhile
			p.leaveNone()
		}
	case limitTenantConns:
		g := ln.gate
		g.mu.Lock()
		g.waiting = append(g.waiting, ln)
		g.mu.Unlock()
		if lim := ln.p.conf().Limits; lim.MaxConns <= 0 || g.active.Load() < int64(lim.MaxConns) {
			g.wake() // one ended meanwhile
		}
	default: // the rate, or an accept that failed (out of fds): wait a while
		time.AfterFunc(max(wait, time.Millisecond), ln.resume)
	}
}

// wake resumes the tenant's listeners that paused for its connections.
func (g *tenantGate) wake() {
	g.mu.Lock()
	ws := g.waiting
	g.waiting = nil
	g.mu.Unlock()
	for _, ln := range ws {
		ln.resume()
	}
}

// leaveNone wakes the listeners waiting for a proxy slot, without giving
// one back (one was given back while they were being put on the list).
func (p *Proxy) leaveNone() {
	p.waitMu.Lock()
	ws := p.waitSlot
	p.waitSlot = nil
	p.slotWaiters.Store(0)
	p.waitMu.Unlock()
	for _, ln := range ws {
		ln.resume()
	}
}
