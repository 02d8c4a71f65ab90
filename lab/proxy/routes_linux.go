package proxy

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nslab/nslab/lab"
)

// routeList returns the live routes. The slice is never changed in place:
// AddRoute and RemoveRoute replace it.
func (p *Proxy) routeList() []Route {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.routes
}

// Routes lists the live routes, in the order they were added.
func (p *Proxy) Routes() []Route { return slices.Clone(p.routeList()) }

// Start ties the proxy's life to ctx: when ctx is done the proxy closes.
// New has already bound and started serving every route; Start only adds
// the shutdown, so `p, _ := New(cfg); p.Start(ctx)` reads as one would
// expect. It returns at once.
func (p *Proxy) Start(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errors.New("proxy is closed")
	}
	p.bg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.bg.Done()
		select {
		case <-ctx.Done():
			go p.Close() // Close waits for p.bg: not from inside it
		case <-p.stop:
		}
	}()
	return nil
}

// AddRoute binds a new route while the proxy runs: a route listening in a
// named namespace (or host), an http route among them, is bound once; a
// Tenant template is bound in every current tenant (one switch each) and
// in every tenant added later. A route that fails to bind anywhere is not
// kept and leaves nothing open. Under process-per-namespace, per-tenant
// routes are set at start only.
func (p *Proxy) AddRoute(r Route) error {
	if _, err := r.check(); err != nil {
		return fmt.Errorf("route %s: %w: %w", r.Name, err, lab.ErrInvalid)
	}
	if r.PerTenant() && (p.cfg.Strategy == ProcessPerNamespace || p.here != "") {
		return fmt.Errorf("route %s: per-tenant routes of a process-per-namespace proxy are set when it starts: %w", r.Name, lab.ErrUnsupported)
	}
	if r.Mode == "" {
		r.Mode = Forward
	}
	p.chg.Lock() // no tenant is bound or removed meanwhile
	defer p.chg.Unlock()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errClosed
	}
	if r.Name == "" {
		r.Name = fmt.Sprintf("route%d", len(p.routes)+1)
	}
	for _, old := range p.routes {
		if old.Name == r.Name {
			p.mu.Unlock()
			return fmt.Errorf("route %s: %w: route names must be unique", r.Name, lab.ErrExists)
		}
	}
	// Publish first so a tenant added meanwhile binds it too; undone on error.
	p.routes = append(slices.Clip(p.routes), r)
	var ts []*tenant // read under mu: unbind clears t.ent
	var ents []*nsEntry
	if r.PerTenant() {
		for _, t := range p.tenants {
			if t.ent != nil {
				ts = append(ts, t)
				ents = append(ents, t.ent.hold())
			}
		}
	}
	static := p.static
	p.mu.Unlock()
	defer func() {
		for _, e := range ents {
			e.release()
		}
	}()

	var added []*listener
	perT := map[*tenant][]*listener{}
	var err error
	if !r.PerTenant() {
		added, err = p.bindStatic(r.Listen.Netns, []Route{r})
	} else {
		for i, t := range ts {
			var lns []*listener
			lns, err = p.serveRoutes(t, ents[i], []Route{r}, nil)
			added = append(added, lns...)
			perT[t] = lns
			if err != nil {
				break
			}
		}
	}
	if err != nil {
		for _, ln := range added {
			ln.close()
		}
		p.dropRoute(r.Name)
		return err
	}
	p.mu.Lock()
	if p.closed { // Close ran meanwhile and has not seen these listeners
		p.mu.Unlock()
		for _, ln := range added {
			ln.close()
		}
		return errClosed
	}
	if !r.PerTenant() {
		static.lns = append(static.lns, added...)
	}
	var stale []*listener
	for t, lns := range perT {
		if p.tenants[t.name] != t { // removed or rebound meanwhile
			stale = append(stale, lns...)
			continue
		}
		t.lns = append(t.lns, lns...)
		t.routes = append(t.routes, r.Name)
	}
	p.mu.Unlock()
	for _, ln := range stale {
		ln.close()
	}
	p.log.Info("route added", "route", r.Name, "listen", r.Listen, "target", r.Target, "listeners", len(added))
	return nil
}

// RemoveRoute closes every listener of the named route (and the
// connections they carry) and forgets the route and its counters.
func (p *Proxy) RemoveRoute(name string) error {
	p.chg.Lock()
	defer p.chg.Unlock()
	p.mu.Lock()
	if !slices.ContainsFunc(p.routes, func(r Route) bool { return r.Name == name }) {
		p.mu.Unlock()
		return fmt.Errorf("route %s: %w", name, lab.ErrNotFound)
	}
	var gone []*listener
	keep := func(t *tenant) {
		if t == nil {
			return
		}
		t.lns = slices.DeleteFunc(t.lns, func(ln *listener) bool {
			if ln.route.Name == name {
				gone = append(gone, ln)
				return true
			}
			return false
		})
		t.routes = slices.DeleteFunc(t.routes, func(n string) bool { return n == name })
	}
	keep(p.static)
	for _, t := range p.tenants {
		keep(t)
	}
	p.mu.Unlock()
	p.dropRoute(name)
	for _, ln := range gone {
		ln.close()
	}
	p.log.Info("route removed", "route", name, "listeners", len(gone))
	return nil
}

// dropRoute forgets a route and its counters.
func (p *Proxy) dropRoute(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.routes = slices.DeleteFunc(slices.Clone(p.routes), func(r Route) bool { return r.Name == name })
	for k, c := range p.ctrs {
		if c.route == name {
			delete(p.ctrs, k)
		}
	}
}
