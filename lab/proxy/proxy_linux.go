package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lab"
)

// Proxy is a running proxy: listeners in many namespaces, each forwarding to
// its route's target. Its methods are safe for concurrent use.
type Proxy struct {
	cfg  Config
	log  *slog.Logger
	here string // process-per-namespace child: the tenant it was started in
	host string // child: path of the parent's namespace ("host")

	mu      sync.Mutex
	tenants map[string]*tenant
	static  *tenant                 // routes that are not per tenant
	places  map[string]*staticPlace // namespaces named in routes, by name
	fronts  map[string]*httpFront   // http routes, by name
	ctrs    map[string]*counters    // by route + tenant
	routes  []Route                 // the live routes; replaced, never changed in place (under mu)
	keys    map[ListenerKey]*listener
	// chg orders changes that must not interleave: route changes and
	// tenant removals hold it (Lock); binding and registering a tenant
	// holds it shared (RLock), so a tenant is bound with the route list of
	// one moment and is never closed while a route is added to it.
	chg      sync.RWMutex
	closed   bool
	stop     chan struct{}
	bg       sync.WaitGroup
	childDir string // process-per-namespace control sockets
	// slots bounds the TCP connections served at once to what the fd
	// limit allows: past it, clients wait in the kernel's accept queue
	// instead of being accepted and then failed for want of an fd for the
	// upstream (at 5000 clients here, 40-60% failed that way).
	slots chan struct{}
	// routeRefs interns the routes listeners point to (Route is a value;
	// routes change by replacement, so an entry is never stale).
	routeRefs map[Route]*Route
	hubOnce   sync.Once
	hub       *hub // waits for every netpoller listener (see hub)
	hubErr    error
}

// routeRef returns a shared copy of r: a thousand tenants' listeners of
// one route point to one Route, not a copy each (190 B × 2000).
func (p *Proxy) routeRef(r Route) *Route {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rp := p.routeRefs[r]; rp != nil {
		return rp
	}
	if p.routeRefs == nil {
		p.routeRefs = map[Route]*Route{}
	}
	rp := &r
	p.routeRefs[r] = rp
	return rp
}

// connSlots is how many TCP connections fit in a limit of fds: two
// sockets each, and one more on average for the splice pipes of the ones
// moving bytes just then; an eighth of the limit and the idle pipes are
// kept for listeners, namespace handles, UDP sessions and the control
// socket.
func connSlots(limit int) int {
	return max(64, (limit-limit/8-2*maxIdlePipes)/3)
}

// Tidy gives back what the proxy keeps for the next burst of traffic: the
// idle splice pipes (two fds each, at most 64 pipes), shared by every proxy
// in the process. A daemon calls it whenever it goes quiet; the pipes are
// made again when needed.
func (p *Proxy) Tidy() { pipes.flush() }

// hubOf returns the proxy's hub, started on first use.
func (p *Proxy) hubOf() (*hub, error) {
	p.hubOnce.Do(func() { p.hub, p.hubErr = newHub() })
	return p.hub, p.hubErr
}

// ListenerKey identifies a listener: a namespace (by inode, so a namespace
// deleted and recreated under the same name is a different one), a
// protocol and the address asked for. Every tenant may use the same address.
type ListenerKey struct {
	Inode uint64
	Proto string
	Addr  string
}

// Listener describes one bound socket.
type Listener struct {
	Key    ListenerKey
	Route  string
	Tenant string
	Netns  string
	Addr   string // as bound (the real port when asked for :0)
}

// tenant is one namespace's share of the proxy.
type tenant struct {
	name   string
	ns     *lab.Netns // nil: not bound (namespace gone)
	ino    uint64
	pl     place
	lns    []*listener
	child  *child // process-per-namespace
	routes []string
}

type staticPlace struct {
	ns *lab.Netns
	pl place
}

// New starts a proxy: it binds the routes that are not per tenant and every
// tenant in cfg.Tenants, and serves them until Close. On error nothing is
// left open.
func New(cfg Config) (*Proxy, error) {
	return newProxy(cfg, "", "")
}

func newProxy(cfg Config, here, hostPath string) (*Proxy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	p := &Proxy{
		cfg: cfg, log: cfg.Logger.With("proxy", cfg.Name), here: here, host: hostPath,
		tenants: map[string]*tenant{}, places: map[string]*staticPlace{},
		fronts: map[string]*httpFront{}, ctrs: map[string]*counters{},
		keys: map[ListenerKey]*listener{}, stop: make(chan struct{}),
		routes: cfg.Routes,
	}
	perTenant := 0
	for _, r := range cfg.Routes {
		if r.PerTenant() {
			perTenant++
		}
	}
	limit, err := lab.ReserveFDs(len(cfg.Routes) + 2*perTenant*len(cfg.Tenants))
	if err != nil {
		p.log.Warn("could not reserve file descriptors up front", "err", err)
	}
	slots := cfg.MaxConns
	if slots == 0 {
		slots = connSlots(limit)
	}
	p.slots = make(chan struct{}, slots)
	// Grow the fd table now to what the connections may need: every
	// growth of a multi-threaded process's table waits for an RCU grace
	// period (10-35 ms here), and binding a thousand tenants later would
	// pay one on its way. (A table of 12 000 fds is ~100 KiB of kernel
	// memory.)
	lab.ReserveFDs(min(2*slots, limit/2))
	if err := p.startStatic(); err != nil {
		p.Close()
		return nil, err
	}
	if err := p.AddTenant(cfg.Tenants...); err != nil {
		p.Close()
		return nil, err
	}
	if cfg.Rescan > 0 && here == "" {
		p.bg.Add(1)
		go p.rescanLoop()
	}
	p.log.Info("proxy started", "strategy", cfg.Strategy, "routes", len(cfg.Routes), "tenants", len(cfg.Tenants))
	return p, nil
}

// openNs opens a namespace named in a route. nil means this process's own.
func (p *Proxy) openNs(name string) (*lab.Netns, error) {
	switch {
	case name == p.here && name != "":
		return nil, nil
	case lab.IsHost(name) && p.host != "":
		return lab.OpenNetnsPath("host", p.host)
	case lab.IsHost(name):
		return nil, nil
	}
	return lab.OpenNetns(name)
}

// staticPlace returns the place for a namespace named in a route (not a
// tenant), opening it once.
func (p *Proxy) staticPlace(name string) (place, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if sp := p.places[name]; sp != nil {
		return sp.pl, nil
	}
	ns, err := p.openNs(name)
	if err != nil {
		return nil, err
	}
	pl, err := p.newPlace(ns, false)
	if err != nil {
		ns.Close()
		return nil, err
	}
	p.places[name] = &staticPlace{ns: ns, pl: pl}
	return pl, nil
}

// newPlace makes the strategy's way of binding and dialing in ns. Static
// namespaces (host, named targets) always use the shared switch except
// under thread-per-namespace, where every namespace gets its thread.
func (p *Proxy) newPlace(ns *lab.Netns, tenant bool) (place, error) {
	timeout := p.cfg.DialTimeout
	switch {
	case p.cfg.Strategy == ThreadPerNamespace && ns != nil:
		return newThreadPlace(ns, timeout)
	case p.cfg.Strategy == BlockingAccept:
		return &blockingPlace{sharedPlace{ns: ns, timeout: timeout}}, nil
	}
	return &sharedPlace{ns: ns, timeout: timeout}, nil
}

// startStatic binds the routes that are not per tenant and the http fronts.
func (p *Proxy) startStatic() error {
	t := &tenant{name: ""}
	byNs := map[string][]Route{}
	for _, r := range p.routeList() {
		if r.PerTenant() {
			continue
		}
		byNs[r.Listen.Netns] = append(byNs[r.Listen.Netns], r)
	}
	names := make([]string, 0, len(byNs))
	for n := range byNs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, nsName := range names {
		pl, err := p.staticPlace(nsName)
		if err != nil {
			return err
		}
		ino, err := p.inodeOf(nsName)
		if err != nil {
			return err
		}
		lns, err := p.bindRoutes(t, pl, ino, byNs[nsName])
		t.lns = append(t.lns, lns...)
		if err != nil {
			p.static = t
			return err
		}
	}
	p.static = t
	return nil
}

func (p *Proxy) inodeOf(nsName string) (uint64, error) {
	p.mu.Lock()
	sp := p.places[nsName]
	p.mu.Unlock()
	if sp != nil && sp.ns != nil {
		return sp.ns.Inode(), nil
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// bindRoutes binds routes' listeners in one place with one switch and
// starts serving them. routes all listen in the same namespace.
func (p *Proxy) bindRoutes(t *tenant, pl place, ino uint64, routes []Route) ([]*listener, error) {
	return p.serveRoutes(t, pl, ino, routes, nil)
}

// routeSockets lists the sockets routes listen on. With the shared
// strategy the hub serves them, so they are made raw (lab.Socket.Raw): the
// hub's epoll set is the only one they need to be in.
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

// serveRoutes binds routes' sockets (unless pre holds them, made already)
// and serves them. On error every socket is closed.
func (p *Proxy) serveRoutes(t *tenant, pl place, ino uint64, routes []Route, pre []lab.Socket) ([]*listener, error) {
	socks := pre
	closePre := func() {
		for i := range pre {
			pre[i].Close()
		}
	}
	if socks == nil {
		socks = p.routeSockets(routes)
	}
	keys := make([]ListenerKey, len(routes))
	p.mu.Lock()
	for i, r := range routes {
		keys[i] = ListenerKey{Inode: ino, Proto: r.Listen.Proto, Addr: r.Listen.Addr.String()}
		if r.Listen.Addr.Port() == 0 {
			continue
		}
		if old := p.keys[keys[i]]; old != nil {
			p.mu.Unlock()
			closePre()
			return nil, fmt.Errorf("route %s: %s %s in net:[%d] is already bound by route %s", r.Name, r.Listen.Proto, r.Listen.Addr, ino, old.route.Name)
		}
	}
	p.mu.Unlock()
	if pre == nil {
		if err := pl.bind(socks); err != nil {
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
		var dial dialFunc
		if r.Mode != HTTP {
			tpl := pl
			if tgt.Netns != r.Listen.In(t.name).Netns {
				var err error
				if tpl, err = p.targetPlace(t, tgt.Netns); err != nil {
					for _, s := range socks[i:] {
						s.Close()
					}
					return lns, err
				}
			}
			dial = tpl.dial
		}
		ln := &listener{
			p: p, route: p.routeRef(r), tenant: t.name, key: keys[i], sock: socks[i], dial: dial, target: tgt,
			done: make(chan struct{}),
		}
		if fd := socks[i].FD(); fd >= 0 {
			ln.raw = newRawConn(fd, r.Listen.Addr)
		}
		if r.Mode != HTTP { // an http route counts per tenant backend
			ln.ctr = p.counter(r, t.name, r.Listen.In(t.name), tgt)
		}
		p.mu.Lock()
		p.keys[ln.key] = ln
		p.mu.Unlock()
		if err := ln.start(); err != nil {
			ln.close()
			for _, s := range socks[i+1:] {
				s.Close()
			}
			return lns, err
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// targetPlace is where a route of tenant t dials: the tenant's own place if
// the target is in the tenant, else the named namespace's.
func (p *Proxy) targetPlace(t *tenant, nsName string) (place, error) {
	if t.name != "" && nsName == t.name && t.pl != nil {
		return t.pl, nil
	}
	return p.staticPlace(nsName)
}

func (t *tenant) label() string {
	if t.name == "" {
		return "(static routes)"
	}
	return t.name
}

func (p *Proxy) counter(r Route, tenantName string, listen, target Endpoint) *counters {
	key := r.Name + "\x00" + tenantName
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.ctrs[key]
	if c == nil {
		c = &counters{route: r.Name, tenant: tenantName, listen: listen.String(), target: target.String()}
		p.ctrs[key] = c
	}
	return c
}

// AddTenant binds every per-tenant route inside each named namespace (one
// switch per tenant, tenants in parallel) and registers it with the http
// routes. Adding a tenant that is already bound to the same namespace does
// nothing; one whose namespace was recreated is rebound.
func (p *Proxy) AddTenant(names ...string) error {
	for _, n := range names {
		if err := lab.ValidateNetnsName(n); err != nil {
			return err
		}
	}
	if len(names) > 64 {
		if _, err := lab.ReserveFDs(4 * len(names) * max(1, len(p.routeList()))); err != nil {
			p.log.Warn("could not reserve file descriptors up front", "err", err)
		}
	}
	if p.cfg.Strategy == Shared && len(names) > 1 {
		return p.addTenantsShared(names)
	}
	workers := bindWorkers
	if p.cfg.Strategy == ProcessPerNamespace {
		workers *= 4 // children start in parallel; each waits on its own exec
	}
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i, n := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = p.addTenant(n)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// addTenantsShared binds many new tenants on one locked thread that
// visits each namespace in turn (lab.BindEach), in batches: a third of the
// cost of one switch per tenant. Tenants already bound go the single way.
func (p *Proxy) addTenantsShared(names []string) error {
	var errs []error
	var news []string
	for _, name := range names {
		p.mu.Lock()
		old, closed := p.tenants[name], p.closed
		p.mu.Unlock()
		if closed {
			return errors.New("proxy is closed")
		}
		if old != nil {
			errs = append(errs, p.addTenant(name))
			continue
		}
		news = append(news, name)
	}
	p.chg.RLock()
	defer p.chg.RUnlock()
	var routes []Route
	for _, r := range p.routeList() {
		if r.PerTenant() {
			routes = append(routes, r)
		}
	}
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
		for i, t := range ts {
			binds[i] = lab.Bind{Netns: t.ns, Socks: p.routeSockets(routes)}
		}
		if len(routes) > 0 {
			if err := lab.BindEach(binds); err != nil {
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
				lns, err := p.serveRoutes(t, t.pl, t.ino, routes, binds[i].Socks)
				t.lns = lns
				if err != nil {
					fail(err)
					p.unbind(t)
					return
				}
			}
			if err := p.register(t); err != nil {
				fail(err)
			}
		})
	}
	return errors.Join(errs...)
}

// parallel runs f(0..n-1) on one goroutine per CPU, each taking a
// contiguous share, and waits: opening and serving a thousand tenants is
// system calls (open, fstat, epoll_ctl) that do not contend.
func parallel(n int, f func(int)) {
	parts := min(runtime.GOMAXPROCS(0), max(1, n/64))
	var wg sync.WaitGroup
	for k := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k * n / parts; i < (k+1)*n/parts; i++ {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// openTenant opens a tenant's namespace and makes its place.
func (p *Proxy) openTenant(name string) (*tenant, error) {
	ns, err := p.openNs(name)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", name, err)
	}
	t := &tenant{name: name, ns: ns}
	if ns != nil {
		t.ino = ns.Inode()
	} else {
		t.ino, _ = p.inodeOf("")
	}
	for _, r := range p.routeList() {
		if r.PerTenant() || r.Target.PerTenant() {
			t.routes = append(t.routes, r.Name)
		}
	}
	if t.pl, err = p.newPlace(ns, true); err != nil {
		ns.Close()
		return nil, fmt.Errorf("tenant %s: %w", name, err)
	}
	return t, nil
}

// register makes a bound tenant live: listed, and known to http routes.
func (p *Proxy) register(t *tenant) error {
	p.mu.Lock()
	if p.closed || p.tenants[t.name] != nil {
		closed := p.closed
		p.mu.Unlock()
		p.unbind(t)
		if closed {
			return errors.New("proxy is closed")
		}
		return nil
	}
	p.tenants[t.name] = t
	nl := len(t.lns)
	p.mu.Unlock()
	for _, f := range p.frontList() {
		f.add(t)
	}
	p.log.Debug("tenant added", "tenant", t.name, "netns", t.ino, "listeners", nl)
	return nil
}

func (p *Proxy) addTenant(name string) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errors.New("proxy is closed")
	}
	old := p.tenants[name]
	p.mu.Unlock()
	if old != nil {
		if ino, err := statNetns(name); err == nil && ino == old.ino && old.ns != nil {
			return nil
		}
		p.RemoveTenant(name) // recreated (or gone): rebind from scratch
	}
	p.chg.RLock()
	defer p.chg.RUnlock()
	t, err := p.bindTenant(name)
	if err != nil {
		return err
	}
	return p.register(t)
}

// bindTenant opens the tenant's namespace and binds its routes there.
func (p *Proxy) bindTenant(name string) (*tenant, error) {
	t, err := p.openTenant(name)
	if err != nil {
		return nil, err
	}
	var routes []Route
	for _, r := range p.routeList() {
		if r.PerTenant() {
			routes = append(routes, r)
		}
	}
	if p.cfg.Strategy == ProcessPerNamespace && len(routes) > 0 {
		t.child, err = p.startChild(t, routes)
		if err != nil {
			p.unbind(t)
			return nil, fmt.Errorf("tenant %s: %w", name, err)
		}
		return t, nil
	}
	if len(routes) > 0 {
		t.lns, err = p.bindRoutes(t, t.pl, t.ino, routes)
		if err != nil {
			p.unbind(t)
			return nil, err
		}
	}
	return t, nil
}

// RemoveTenant closes every socket and connection of the named tenants.
//
// The counters are swept once for all of them: swept per tenant, removing
// 1000 tenants walked 2000 counters 1000 times, a third of a second.
func (p *Proxy) RemoveTenant(names ...string) error {
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

// unbind closes a tenant's listeners, connections, child and namespace.
func (p *Proxy) unbind(t *tenant) {
	for _, ln := range t.lns {
		ln.close()
	}
	t.lns = nil
	if t.child != nil {
		t.child.stop()
		t.child = nil
	}
	if t.pl != nil {
		t.pl.close()
		t.pl = nil
	}
	if t.ns != nil {
		t.ns.Close()
		t.ns = nil
	}
}

// Tenants lists the tenants, sorted.
func (p *Proxy) Tenants() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.tenants))
	for n := range p.tenants {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Resync checks every tenant's namespace: one deleted and recreated under
// the same name (a new inode) is rebound there; one that is gone has its
// sockets closed and is rebound when it comes back. It runs every
// Config.Rescan on its own.
func (p *Proxy) Resync() error {
	p.mu.Lock()
	var check []*tenant
	for _, t := range p.tenants {
		check = append(check, t)
	}
	p.mu.Unlock()
	var errs []error
	for _, t := range check {
		ino, err := statNetns(t.name)
		switch {
		case err != nil && t.ns != nil: // gone: let it go
			p.log.Warn("tenant namespace is gone; closing its sockets", "tenant", t.name)
			p.chg.Lock()
			p.mu.Lock()
			mine := p.tenants[t.name] == t
			if mine {
				p.tenants[t.name] = &tenant{name: t.name}
			}
			p.mu.Unlock()
			if mine { // else removed or rebound meanwhile, by someone who unbinds it
				for _, f := range p.frontList() {
					f.remove(t)
				}
				p.unbind(t)
			}
			p.chg.Unlock()
		case err == nil && ino != t.ino:
			p.log.Info("tenant namespace was recreated; rebinding", "tenant", t.name, "old", t.ino, "new", ino)
			if err := p.addTenant(t.name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// statNetns returns the inode of a lab namespace by name.
func statNetns(name string) (uint64, error) {
	var st unix.Statfs_t
	path := filepath.Join(lab.NetnsDir, lab.SysName(name))
	if err := unix.Statfs(path, &st); err != nil || st.Type != unix.NSFS_MAGIC {
		return 0, fmt.Errorf("network namespace %s: %w", name, lab.ErrNotFound)
	}
	var s unix.Stat_t
	if err := unix.Stat(path, &s); err != nil {
		return 0, err
	}
	return s.Ino, nil
}

func (p *Proxy) rescanLoop() {
	defer p.bg.Done()
	tk := time.NewTicker(p.cfg.Rescan)
	defer tk.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tk.C:
			if err := p.Resync(); err != nil {
				p.log.Warn("resync", "err", err)
			}
		}
	}
}

// Listeners lists every bound socket with its identity.
func (p *Proxy) Listeners() []Listener {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Listener
	for _, ln := range p.keys {
		out = append(out, ln.info())
	}
	slices.SortFunc(out, func(a, b Listener) int {
		if a.Tenant != b.Tenant {
			if a.Tenant < b.Tenant {
				return -1
			}
			return 1
		}
		if a.Route < b.Route {
			return -1
		}
		if a.Route > b.Route {
			return 1
		}
		return 0
	})
	return out
}

var goMemSamples = []metrics.Sample{
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/heap/stacks:bytes"},
	{Name: "/memory/classes/heap/free:bytes"},
	{Name: "/memory/classes/heap/unused:bytes"},
	{Name: "/memory/classes/total:bytes"},
	{Name: "/memory/classes/heap/released:bytes"},
}

// readGoMem reads the Go runtime's memory classes.
func readGoMem() GoMem {
	s := slices.Clone(goMemSamples)
	metrics.Read(s)
	v := func(i int) uint64 { return s[i].Value.Uint64() }
	m := GoMem{Heap: v(0), Stacks: v(1), Free: v(2) + v(3), Released: v(5)}
	m.Runtime = v(4) - m.Heap - m.Stacks - m.Free - m.Released
	return m
}

// activity sums the counters that move when traffic does: equal on two
// reads means nothing was accepted or finished in between (a connection
// adds its bytes when it ends).
func (p *Proxy) activity() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var a uint64
	for _, c := range p.ctrs {
		a += c.conns.Load() + c.errs.Load() + c.bytesIn.Load() + c.bytesOut.Load()
	}
	return a
}

// Stats returns per-route counters and this process's (and its children's)
// threads and memory.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	s := Stats{Name: p.cfg.Name, Strategy: p.cfg.Strategy, Listeners: len(p.keys)}
	var children []*child
	for n, t := range p.tenants {
		s.Tenants = append(s.Tenants, n)
		if t.child != nil {
			children = append(children, t.child)
		}
	}
	for _, c := range p.ctrs {
		s.Routes = append(s.Routes, c.snapshot())
	}
	p.mu.Unlock()
	sort.Strings(s.Tenants)
	self, _ := ReadProcStats(os.Getpid(), p.cfg.Name)
	s.Procs = append(s.Procs, self)
	for _, c := range children {
		cs, err := c.client.Stats()
		if err != nil {
			continue
		}
		s.Listeners += cs.Listeners
		for _, r := range cs.Routes {
			r.Tenant = c.tenant
			s.Routes = append(s.Routes, r)
		}
		for _, ps := range cs.Procs {
			ps.Name = "ns:" + c.tenant
			s.Procs = append(s.Procs, ps)
		}
	}
	for _, ps := range s.Procs {
		s.Threads += ps.Threads
		s.RSS += ps.RSS
		s.RSSAnon += ps.RSSAnon
	}
	slices.SortFunc(s.Routes, func(a, b RouteStats) int {
		if a.Route != b.Route {
			if a.Route < b.Route {
				return -1
			}
			return 1
		}
		if a.Tenant < b.Tenant {
			return -1
		}
		if a.Tenant > b.Tenant {
			return 1
		}
		return 0
	})
	s.Goroutines = runtime.NumGoroutine()
	s.Go = readGoMem()
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		s.FDs = len(ents)
	}
	return s
}

// Close stops serving: it closes every listener, connection and child and
// waits for their goroutines. It is safe to call more than once.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.stop)
	ts := make([]*tenant, 0, len(p.tenants))
	for _, t := range p.tenants {
		ts = append(ts, t)
	}
	p.tenants = map[string]*tenant{}
	static := p.static
	places := p.places
	p.places = map[string]*staticPlace{}
	p.mu.Unlock()
	p.bg.Wait()
	p.chg.Lock() // a route being added finishes first, then sees closed
	defer p.chg.Unlock()
	var wg sync.WaitGroup
	for _, t := range ts {
		wg.Add(1)
		go func() { defer wg.Done(); p.unbind(t) }()
	}
	wg.Wait()
	if static != nil {
		p.unbind(static)
	}
	for _, f := range p.frontList() {
		f.close()
	}
	for _, sp := range places {
		sp.pl.close()
		sp.ns.Close()
	}
	if p.childDir != "" {
		os.RemoveAll(p.childDir)
	}
	if p.hub != nil { // every listener is closed, so out of it
		p.hub.close()
	}
	pipes.flush() // idle ones: connections still running elsewhere keep theirs
	p.log.Info("proxy stopped")
	return nil
}

func (p *Proxy) frontList() []*httpFront {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*httpFront, 0, len(p.fronts))
	for _, f := range p.fronts {
		out = append(out, f)
	}
	return out
}

// removeKey forgets a listener's identity.
func (p *Proxy) removeKey(ln *listener) {
	p.mu.Lock()
	if p.keys[ln.key] == ln {
		delete(p.keys, ln.key)
	}
	p.mu.Unlock()
}

// bindWorkers is how many tenants bind at once. More than one makes the
// runtime start extra threads for the concurrent locked switches, which
// then idle for the life of the process.
var bindWorkers = 1
