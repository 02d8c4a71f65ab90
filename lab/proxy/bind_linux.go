package proxy

import (
	"fmt"
	"maps"
	"slices"

	"github.com/nslab/nslab/lab"
)

// startStatic binds the routes that are not per tenant and the http fronts.
func (p *Proxy) startStatic() error {
	t := &tenant{name: ""}
	p.mu.Lock()
	p.static = t
	p.mu.Unlock()
	byNs := map[string][]Route{}
	for _, r := range p.routeList() {
		if !r.PerTenant() {
			byNs[r.Listen.Netns] = append(byNs[r.Listen.Netns], r)
		}
	}
	for _, ref := range slices.Sorted(maps.Keys(byNs)) {
		lns, err := p.bindStatic(ref, byNs[ref])
		p.mu.Lock()
		t.lns = append(t.lns, lns...)
		p.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// bindStatic binds routes that are not per tenant, all listening in the
// namespace ref names.
func (p *Proxy) bindStatic(ref string, routes []Route) ([]*listener, error) {
	ent, err := p.nst.acquire(ref, false)
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", routes[0].Name, err)
	}
	defer ent.release() // each listener holds its own
	p.mu.Lock()
	static := p.static
	p.mu.Unlock()
	return p.serveRoutes(static, ent, routes, nil)
}

// routeSockets lists the sockets routes listen on. With the shared
// strategy the hub or the event loops serve them, so they are made raw
// (lab.Socket.Raw): an epoll set of the proxy's own is the only one they
// need to be in.
func (p *Proxy) routeSockets(routes []Route) []lab.Socket {
	socks := make([]lab.Socket, len(routes))
	for i, r := range routes {
		// No keep-alive on accepted connections (as HAProxy without
		// tcpka): four setsockopt calls per connection, on the path
		// between accept and the upstream connect.
		socks[i] = lab.Socket{Network: r.Listen.Proto, Addr: r.Listen.Addr.String(), KeepAlive: -1,
			Raw: p.cfg.Strategy == Shared && r.Mode != HTTP}
	}
	return socks
}

// serveRoutes binds routes' sockets in ent's namespace (unless pre holds
// them, made already) and serves them. On error every socket is closed.
func (p *Proxy) serveRoutes(t *tenant, ent *nsEntry, routes []Route, pre []lab.Socket) ([]*listener, error) {
	socks := pre
	closeFrom := func(i int) {
		for j := range socks[i:] {
			socks[i+j].Close()
		}
	}
	if socks == nil {
		socks = p.routeSockets(routes)
	}
	keys := make([]ListenerKey, len(routes))
	p.mu.Lock()
	for i, r := range routes {
		keys[i] = ListenerKey{Inode: ent.ino, Proto: r.Listen.Proto, Addr: r.Listen.Addr.String()}
		if r.Listen.Addr.Port() == 0 {
			continue
		}
		if old := p.keys[keys[i]]; old != nil {
			p.mu.Unlock()
			if pre != nil {
				closeFrom(0)
			}
			return nil, fmt.Errorf("route %s: %s %s in net:[%d] is already bound by route %s", r.Name, r.Listen.Proto, r.Listen.Addr, ent.ino, old.route.Name)
		}
	}
	p.mu.Unlock()
	if pre == nil {
		if err := ent.pl.bind(socks); err != nil {
			return nil, fmt.Errorf("tenant %s: %w", t.label(), err)
		}
	}
	for i := range socks { // an ephemeral port is known only now
		if routes[i].Listen.Addr.Port() != 0 {
			continue
		}
		if a := sockAddr(&socks[i]); a != "" {
			keys[i].Addr = a
		}
	}
	var lns []*listener
	for i, r := range routes {
		tgt := r.Target.In(t.name)
		ln := &listener{
			p: p, route: p.routeRef(r), tenant: t.name, key: keys[i], sock: socks[i],
			tnet: tgt.Proto, taddr: tgt.Addr, gate: p.gateOf(t.name), done: make(chan struct{}),
			lent: ent.hold(),
		}
		if r.Mode != HTTP {
			te, err := p.targetEntry(t, ent, tgt.Netns)
			if err != nil {
				ln.lent.release()
				closeFrom(i)
				return lns, err
			}
			ln.tgt.Store(te)
		}
		if fd := socks[i].FD(); fd >= 0 {
			ln.raw = newRawConn(fd, r.Listen.Addr)
		}
		if r.Mode != HTTP { // an http route counts per tenant backend
			ln.ctr = p.counter(r, t.name, r.Listen.In(t.name), tgt)
		} else {
			ln.ctr = &counters{route: r.Name}
		}
		p.mu.Lock()
		p.keys[ln.key] = ln
		p.mu.Unlock()
		if err := ln.start(); err != nil {
			ln.close()
			closeFrom(i + 1)
			return lns, err
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// targetEntry is where a route of tenant t dials, held for the caller:
// the namespace it listens in when the target is the same, else what the
// target's reference names now.
func (p *Proxy) targetEntry(t *tenant, listen *nsEntry, ref string) (*nsEntry, error) {
	if t.name != "" && ref == t.name && t.ent != nil {
		return t.ent.hold(), nil
	}
	if ref == listen.ref {
		return listen.hold(), nil
	}
	return p.nst.acquire(ref, false)
}
