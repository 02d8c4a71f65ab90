package proxy

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/nslab/nslab/lab"
)

// tenant is one namespace's share of the proxy.
type tenant struct {
	name   string
	ref    string   // its namespace (lab.ParseNetnsRef); the name by default
	ent    *nsEntry // nil: not bound (namespace gone)
	lns    []*listener
	child  *child // process-per-namespace
	routes []string
}

func (t *tenant) label() string {
	if t.name == "" {
		return "(static routes)"
	}
	return t.name
}

// ino is the inode the tenant is bound to (0: not bound).
func (t *tenant) ino() uint64 {
	if t.ent == nil {
		return 0
	}
	return t.ent.ino
}

// AddTenant binds every per-tenant route inside each tenant's namespace
// (tenants in parallel) and registers it with the http routes. A tenant is
// written as ParseTenant reads it: "alpha", or "acc=/var/run/netns/acc".
// A tenant that is there already is refused with lab.ErrExists, and then
// none is added. With a state file configured, the tenants are written to
// it, and bound again when the proxy starts next.
func (p *Proxy) AddTenant(specs ...string) error {
	if err := p.checkNew(specs); err != nil {
		return err
	}
	if err := p.addTenants(specs, true); err != nil {
		return err
	}
	return p.saveState()
}

// checkNew refuses specs that are malformed, given twice, or name a
// tenant that exists.
func (p *Proxy) checkNew(specs []string) error {
	seen := map[string]bool{}
	var exist []string
	for _, s := range specs {
		name, _, err := ParseTenant(s)
		if err != nil {
			return fmt.Errorf("%w: %w", err, lab.ErrInvalid)
		}
		if seen[name] {
			return fmt.Errorf("tenant %s is given twice: %w", name, lab.ErrInvalid)
		}
		seen[name] = true
		p.mu.Lock()
		t := p.tenants[name]
		p.mu.Unlock()
		if t != nil {
			exist = append(exist, fmt.Sprintf("%s (%s, net:[%d])", name, t.ref, t.ino()))
		}
	}
	if len(exist) > 0 {
		return fmt.Errorf("tenant %s: %w: remove it first, or resync to rebind a namespace that was made again", exist[0], lab.ErrExists)
	}
	return nil
}

// addTenants binds the tenants specs name. One already there is left as
// it is if it is bound to what its reference names now, else rebound.
// api says whether they come over the API (and so go in the state file).
func (p *Proxy) addTenants(specs []string, api bool) error {
	if len(specs) == 0 {
		return nil
	}
	if len(specs) > 64 {
		if _, err := lab.ReserveFDs((1 + 3*max(1, len(p.routeList()))) * len(specs)); err != nil {
			p.log.Warn("could not reserve file descriptors up front", "err", err)
		}
	}
	if p.cfg.Strategy == Shared && len(specs) > 1 {
		return p.addTenantsShared(specs, api)
	}
	workers := bindWorkers
	if p.cfg.Strategy == ProcessPerNamespace {
		workers *= 4 // children start in parallel; each waits on its own exec
	}
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i, s := range specs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = p.addTenant(s, api)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// addTenantsShared binds many new tenants on one locked thread that
// visits each namespace in turn (lab.BindEach), in batches: a third of the
// cost of one switch per tenant. Tenants already bound go the single way.
func (p *Proxy) addTenantsShared(specs []string, api bool) error {
	var errs []error
	var news []string
	for _, s := range specs {
		name, _, err := ParseTenant(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.mu.Lock()
		old, closed := p.tenants[name], p.closed
		p.mu.Unlock()
		if closed {
			return errClosed
		}
		if old != nil {
			errs = append(errs, p.addTenant(s, api))
			continue
		}
		news = append(news, s)
	}
	p.chg.RLock()
	defer p.chg.RUnlock()
	routes := p.tenantRoutes()
	var emu sync.Mutex
	fail := func(err error) {
		emu.Lock()
		errs = append(errs, err)
		emu.Unlock()
	}
	opened := make([]*tenant, len(news))
	parallel(len(news), func(i int) {
		t, err := p.openTenant(news[i])
		if err != nil {
			fail(err)
			return
		}
		opened[i] = t
	})
	var fresh []*tenant
	for _, t := range opened {
		if t != nil {
			fresh = append(fresh, t)
		}
	}
	const batch = 256
	for lo := 0; lo < len(fresh); lo += batch {
		ts := fresh[lo:min(lo+batch, len(fresh))]
		binds := make([]lab.Bind, len(ts))
		// Each handle open (a tenant may share a parked namespace with
		// another) and held so until the batch is bound; pinned once each.
		pinned := map[*nsEntry]*lab.Netns{}
		for i, t := range ts {
			ns, ok := pinned[t.ent]
			if !ok {
				var err error
				if ns, err = t.ent.pin(); err != nil {
					binds[i] = lab.Bind{Err: err}
					continue
				}
				pinned[t.ent] = ns
			}
			binds[i] = lab.Bind{Netns: ns, Socks: p.routeSockets(routes)}
		}
		var berr error
		if len(routes) > 0 {
			berr = bindEach(binds)
		}
		for e := range pinned {
			e.unpin()
		}
		if len(routes) > 0 {
			if err := berr; err != nil {
				for _, t := range ts {
					p.unbind(t)
				}
				errs = append(errs, err)
				continue
			}
		}
		parallel(len(ts), func(i int) {
			t := ts[i]
			if binds[i].Err != nil {
				fail(fmt.Errorf("tenant %s: %w", t.name, binds[i].Err))
				p.unbind(t)
				return
			}
			if len(routes) > 0 {
				lns, err := p.serveRoutes(t, t.ent, routes, binds[i].Socks)
				t.lns = lns
				if err != nil {
					fail(err)
					p.unbind(t)
					return
				}
			}
			if err := p.register(t, api); err != nil {
				fail(err)
			}
		})
	}
	return errors.Join(errs...)
}

// tenantRoutes is the live routes that listen in each tenant.
func (p *Proxy) tenantRoutes() []Route {
	var routes []Route
	for _, r := range p.routeList() {
		if r.PerTenant() {
			routes = append(routes, r)
		}
	}
	return routes
}

// openTenant opens a tenant's namespace (or takes the handle the proxy
// holds on it already) and makes its place.
func (p *Proxy) openTenant(spec string) (*tenant, error) {
	name, ref, err := ParseTenant(spec)
	if err != nil {
		return nil, err
	}
	ent, err := p.nst.acquire(ref, true)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", name, err)
	}
	t := &tenant{name: name, ref: ref, ent: ent}
	for _, r := range p.routeList() {
		if r.PerTenant() || r.Target.PerTenant() {
			t.routes = append(t.routes, r.Name)
		}
	}
	return t, nil
}

// register makes a bound tenant live: listed, and known to http routes.
func (p *Proxy) register(t *tenant, api bool) error { return p.registerOver(t, api, nil) }

// registerOver registers t in the place of was (nil: where no tenant of
// that name is); if the name holds anything else, t is unbound instead.
func (p *Proxy) registerOver(t *tenant, api bool, was *tenant) error {
	p.mu.Lock()
	if p.closed || p.tenants[t.name] != was {
		closed := p.closed
		p.mu.Unlock()
		p.unbind(t)
		if closed {
			return errClosed
		}
		return nil
	}
	p.tenants[t.name] = t
	if api && p.state != nil {
		p.state.add(tenantSpec(t.name, t.ref))
	}
	nl := len(t.lns)
	var src *rawConn
	for _, ln := range t.lns {
		if ln.raw != nil {
			src = ln.raw
			break
		}
	}
	p.mu.Unlock()
	if src != nil && p.cfg.Strategy == Shared {
		t.ent.park(src) // its listener pins the namespace: no handle needed until a connection
	}
	for _, f := range p.frontList() {
		f.add(t)
	}
	p.log.Debug("tenant added", "tenant", t.name, "netns", t.ref, "inode", t.ino(), "listeners", nl)
	return nil
}

// addTenant binds one tenant. One that is there, bound to what its
// reference names now, is left alone; one whose namespace was made again
// (or that was unbound when it went) is bound again there.
func (p *Proxy) addTenant(spec string, api bool) error {
	name, ref, err := ParseTenant(spec)
	if err != nil {
		return err
	}
	if err := p.isClosed(); err != nil {
		return err
	}
	p.mu.Lock()
	old := p.tenants[name]
	p.mu.Unlock()
	if old != nil {
		if old.ref == ref && old.ent != nil {
			if _, gone, changed := p.moved(ref, old.ino()); !gone && !changed {
				return nil
			}
		}
		p.removeTenants([]string{name}, false) // recreated (or gone): rebind from scratch
	}
	p.chg.RLock()
	defer p.chg.RUnlock()
	t, err := p.bindTenant(spec)
	if err != nil {
		return err
	}
	return p.register(t, api)
}

// rebind binds tenant t again where its reference names now (its
// namespace was made again, or came back), unless it was removed or
// rebound meanwhile: it takes t's place with a placeholder while it
// binds, and registers over the placeholder only if it is still there.
// If binding fails the placeholder stays, and the next rescan tries again.
func (p *Proxy) rebind(t *tenant, spec string) error {
	p.chg.Lock()
	p.mu.Lock()
	if p.closed || p.tenants[t.name] != t {
		p.mu.Unlock()
		p.chg.Unlock()
		return nil
	}
	hold := t
	if t.ent != nil { // bound: its sockets go first
		hold = &tenant{name: t.name, ref: t.ref}
		p.tenants[t.name] = hold
	}
	p.mu.Unlock()
	if hold != t {
		for _, f := range p.frontList() {
			f.remove(t)
		}
		p.unbind(t)
	}
	p.chg.Unlock()
	p.chg.RLock()
	defer p.chg.RUnlock()
	nt, err := p.bindTenant(spec)
	if err != nil {
		return err
	}
	return p.registerOver(nt, false, hold)
}

// bindTenant opens the tenant's namespace and binds its routes there.
func (p *Proxy) bindTenant(spec string) (*tenant, error) {
	t, err := p.openTenant(spec)
	if err != nil {
		return nil, err
	}
	routes := p.tenantRoutes()
	if p.cfg.Strategy == ProcessPerNamespace && len(routes) > 0 {
		t.child, err = p.startChild(t, routes)
		if err != nil {
			p.unbind(t)
			return nil, fmt.Errorf("tenant %s: %w", t.name, err)
		}
		return t, nil
	}
	if len(routes) > 0 {
		t.lns, err = p.serveRoutes(t, t.ent, routes, nil)
		if err != nil {
			p.unbind(t)
			return nil, err
		}
	}
	return t, nil
}

// RemoveTenant closes every socket and connection of the named tenants and
// lets go of their namespaces. With a state file configured, the tenants
// are taken out of it.
func (p *Proxy) RemoveTenant(names ...string) error {
	err := p.removeTenants(names, true)
	if serr := p.saveState(); serr != nil {
		err = errors.Join(err, serr)
	}
	return err
}

// removeTenants removes tenants; api says whether the API asked (and so
// the state file forgets them).
//
// The counters are swept once for all of them: swept per tenant, removing
// 1000 tenants walked 2000 counters 1000 times, a third of a second.
func (p *Proxy) removeTenants(names []string, api bool) error {
	p.chg.Lock()
	defer p.chg.Unlock()
	var errs []error
	var gone []*tenant
	p.mu.Lock()
	names = slices.Compact(slices.Sorted(slices.Values(names)))
	for _, n := range names {
		t := p.tenants[n]
		if t == nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", n, lab.ErrNotFound))
			continue
		}
		delete(p.tenants, n)
		delete(p.gates, n)
		if api && p.state != nil {
			p.state.remove(n)
		}
		gone = append(gone, t)
	}
	if len(gone) > 0 {
		for k, c := range p.ctrs {
			if _, found := slices.BinarySearch(names, c.tenant); found {
				delete(p.ctrs, k)
			}
		}
	}
	p.mu.Unlock()
	fronts := p.frontList()
	parallel(len(gone), func(i int) {
		t := gone[i]
		for _, f := range fronts {
			f.remove(t)
		}
		p.unbind(t)
		p.log.Info("tenant removed", "tenant", t.name)
	})
	return errors.Join(errs...)
}

// unbind closes a tenant's listeners, connections and child, and lets go
// of its namespace.
func (p *Proxy) unbind(t *tenant) {
	p.mu.Lock()
	lns, child, ent := t.lns, t.child, t.ent
	t.lns, t.child, t.ent = nil, nil, nil
	p.mu.Unlock()
	for _, ln := range lns {
		ln.close()
	}
	if child != nil {
		child.stop()
	}
	if ent != nil {
		ent.release()
	}
}

// Tenants lists the tenants, sorted.
func (p *Proxy) Tenants() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Never nil: GET /tenants answers [] when there are none.
	out := slices.AppendSeq(make([]string, 0, len(p.tenants)), maps.Keys(p.tenants))
	slices.Sort(out)
	return out
}

// saveState writes the state file, if one is configured.
func (p *Proxy) saveState() error {
	if p.state == nil {
		return nil
	}
	return p.state.save()
}

// bindEach binds the sockets of many namespaces (lab.BindEach), skipping
// those whose handle could not be had (their Err is set already).
func bindEach(binds []lab.Bind) error {
	var todo []lab.Bind
	var at []int
	for i, b := range binds {
		if b.Err == nil {
			todo = append(todo, b)
			at = append(at, i)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	err := lab.BindEach(todo)
	for k, i := range at {
		binds[i] = todo[k]
	}
	return err
}
