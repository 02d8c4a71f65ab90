package proxy

import (
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/nslab/nslab/lab"
)

// Reload applies a new configuration to the running proxy without
// dropping anything that did not change: tenants and routes are diffed
// against the previous configuration (by name), and only what was removed
// or changed is closed; what is new is bound. Tenants and routes added
// over the API are not the config's: a reload leaves them alone. Limits,
// time-outs and max_conns apply from now on (an http route's header and
// idle time-outs, when the route is next bound).
//
// What a running proxy cannot change (its name, strategy, control socket,
// state file, metrics address, rescan period) is refused with an error
// naming it, and then nothing is applied.
func (p *Proxy) Reload(next Config) error {
	if err := next.Validate(); err != nil {
		return err
	}
	next = next.withDefaults()
	next.Logger = p.cfg.Logger
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	cur := p.cfg
	for _, f := range []struct {
		name   string
		a, b   any
		differ bool
	}{
		{name: "name", a: cur.Name, b: next.Name}, {name: "strategy", a: cur.Strategy, b: next.Strategy},
		{name: "control", a: cur.Control, b: next.Control}, {name: "state", a: cur.State, b: next.State},
		{name: "metrics", a: cur.Metrics, b: next.Metrics}, {name: "rescan", a: cur.Rescan, b: next.Rescan},
	} {
		if f.a != f.b {
			return fmt.Errorf("reload: %s cannot change while the proxy runs (%v, now %v): restart it: %w", f.name, f.a, f.b, lab.ErrUnsupported)
		}
	}
	live := next
	p.live.Store(&live)

	var errs []error
	// Routes: the previous config's against the new one's.
	prev := map[string]Route{}
	for _, r := range p.cfgRoutes {
		prev[r.Name] = r
	}
	var add []Route
	for _, r := range next.Routes {
		old, ok := prev[r.Name]
		delete(prev, r.Name)
		if ok && reflect.DeepEqual(old, r) {
			continue
		}
		if ok {
			if err := p.RemoveRoute(r.Name); err != nil && !errors.Is(err, lab.ErrNotFound) {
				errs = append(errs, err)
			}
		}
		add = append(add, r)
	}
	for name := range prev {
		if err := p.RemoveRoute(name); err != nil && !errors.Is(err, lab.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	for _, r := range add {
		if err := p.AddRoute(r); err != nil {
			errs = append(errs, fmt.Errorf("reload: %w", err))
		}
	}
	p.cfgRoutes = slices.Clone(next.Routes)

	// Tenants: the previous config's against the new one's; those the API
	// added stay.
	api := map[string]bool{}
	if p.state != nil {
		for _, s := range p.state.tenants() {
			n, _, _ := ParseTenant(s)
			api[n] = true
		}
	}
	was := map[string]string{}
	for _, s := range p.cfgTenants {
		n, _, _ := ParseTenant(s)
		was[n] = s
	}
	var gone []string
	var bind []string
	for _, s := range next.Tenants {
		n, _, _ := ParseTenant(s)
		old, ok := was[n]
		delete(was, n)
		p.mu.Lock()
		_, there := p.tenants[n]
		p.mu.Unlock()
		switch {
		case ok && old == s && there:
		case ok && old == s: // removed over the API: the config says it is a tenant
			bind = append(bind, s)
		case ok:
			gone = append(gone, n) // its namespace changed: bound again below
			bind = append(bind, s)
		default:
			bind = append(bind, s)
		}
	}
	for n := range was {
		if !api[n] {
			gone = append(gone, n)
		}
	}
	if len(gone) > 0 {
		if err := p.removeTenants(gone, false); err != nil && !errors.Is(err, lab.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	if err := p.addTenants(bind, false); err != nil {
		errs = append(errs, fmt.Errorf("reload: %w", err))
	}
	p.cfgTenants = slices.Clone(next.Tenants)
	p.log.Info("reloaded", "routes", len(next.Routes), "tenants", len(next.Tenants), "removed", len(gone), "bound", len(bind), "errors", len(errs))
	return errors.Join(errs...)
}
