package proxy

import (
	"errors"
	"slices"
)

// Resync follows every namespace reference that names its namespace (a
// name, a path) to what it names now. A tenant whose namespace was deleted
// and made again (a new inode) is rebound there; one that is gone has its
// sockets closed (they would keep the dead namespace alive) and is rebound
// when it comes back. The same for routes: one listening in a named
// namespace is rebound, and a named target is followed, the dials going to
// the new namespace and the old handle let go. The proxy does it on its
// own for the references that inotify or its timer say may have moved
// (see nsWatch).
func (p *Proxy) Resync() error {
	_, err := p.resync(func(string) bool { return true })
	return err
}

// resync is Resync for the references match picks, and how many it
// checked.
func (p *Proxy) resync(match func(ref string) bool) (int, error) {
	type check struct {
		t    *tenant
		spec string
		ino  uint64
	}
	p.mu.Lock()
	var checks []check
	for _, t := range p.tenants {
		if match(t.ref) {
			checks = append(checks, check{t, tenantSpec(t.name, t.ref), t.ino()})
		}
	}
	p.mu.Unlock()
	var errs []error
	for _, c := range checks {
		if c.ino == 0 { // unbound since its namespace went: back?
			if _, err := p.statRef(c.t.ref); err == nil {
				p.log.Info("tenant namespace is back; binding", "tenant", c.t.name)
				errs = append(errs, p.rebind(c.t, c.spec))
			}
			continue
		}
		now, gone, changed := p.moved(c.t.ref, c.ino)
		switch {
		case gone:
			p.log.Warn("tenant namespace is gone; closing its sockets", "tenant", c.t.name, "netns", c.t.ref)
			p.chg.Lock()
			p.mu.Lock()
			mine := p.tenants[c.t.name] == c.t
			if mine {
				p.tenants[c.t.name] = &tenant{name: c.t.name, ref: c.t.ref}
			}
			p.mu.Unlock()
			if mine { // else removed or rebound meanwhile, by someone who unbinds it
				for _, f := range p.frontList() {
					f.remove(c.t)
				}
				p.unbind(c.t)
			}
			p.chg.Unlock()
		case changed:
			p.log.Info("tenant namespace was made again; rebinding", "tenant", c.t.name, "old", c.ino, "new", now)
			errs = append(errs, p.rebind(c.t, c.spec))
		}
	}
	n, err := p.resyncRoutes(match)
	return len(checks) + n, errors.Join(append(errs, err)...)
}

// resyncRoutes follows the namespaces routes name (not tenants').
func (p *Proxy) resyncRoutes(match func(ref string) bool) (int, error) {
	p.chg.Lock()
	defer p.chg.Unlock()
	if p.isClosed() != nil {
		return 0, nil
	}
	type seen struct {
		now           uint64
		gone, changed bool
	}
	memo := map[nsKey]seen{}
	moved := func(ref string, ino uint64) seen {
		k := nsKey{ref, ino}
		if s, ok := memo[k]; ok || !match(ref) {
			return s // not picked: as it was
		}
		var s seen
		s.now, s.gone, s.changed = p.moved(ref, ino)
		memo[k] = s
		return s
	}
	// Routes listening in a namespace that moved: close their listeners,
	// which hold the old one.
	p.mu.Lock()
	static := p.static
	var stale []*listener
	static.lns = slices.DeleteFunc(static.lns, func(ln *listener) bool {
		if moved(ln.lent.ref, ln.lent.ino).changed {
			stale = append(stale, ln)
			return true
		}
		return false
	})
	p.mu.Unlock()
	for _, ln := range stale {
		p.log.Info("route's namespace moved; rebinding", "route", ln.route.Name, "netns", ln.lent.ref)
		ln.close()
	}
	// Routes with no listener (just closed, or their namespace was gone):
	// bind them where their namespace is now, if it is.
	var errs []error
	for _, r := range p.routeList() {
		if r.PerTenant() || !match(r.Listen.Netns) || p.hasStatic(r.Name) {
			continue
		}
		if _, err := p.statRef(r.Listen.Netns); err != nil {
			continue // still gone
		}
		lns, err := p.bindStatic(r.Listen.Netns, []Route{r})
		p.mu.Lock()
		static.lns = append(static.lns, lns...)
		p.mu.Unlock()
		errs = append(errs, err)
	}
	// Targets in a named namespace: follow it.
	p.mu.Lock()
	all := make([]*listener, 0, len(p.keys))
	for _, ln := range p.keys {
		all = append(all, ln)
	}
	p.mu.Unlock()
	for _, ln := range all {
		if ln.route.Mode == HTTP {
			continue
		}
		ref := ln.route.Target.In(ln.tenant).Netns
		if ln.tenant != "" && ref == ln.tenant || !match(ref) {
			continue // the tenant's own (rebound with the tenant), or not picked
		}
		cur := ln.target()
		var s seen
		if cur != nil {
			if s = moved(ref, cur.ino); !s.changed {
				continue
			}
		} else if _, err := p.statRef(ref); err != nil {
			continue // still gone
		}
		var next *nsEntry
		if !s.gone {
			var err error
			if next, err = p.nst.acquire(ref, false); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		p.log.Info("route's target namespace moved; following it", "route", ln.route.Name, "tenant", ln.tenant, "netns", ref, "gone", s.gone)
		if old := ln.tgt.Swap(next); old != nil {
			old.release()
		}
		if ln.isClosed() { // closed meanwhile: its close may have missed next
			if t := ln.tgt.Swap(nil); t != nil {
				t.release()
			}
		}
	}
	return len(memo), errors.Join(errs...)
}

// hasStatic reports whether a route that is not per tenant has a listener.
func (p *Proxy) hasStatic(route string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.ContainsFunc(p.static.lns, func(ln *listener) bool { return ln.route.Name == route })
}
