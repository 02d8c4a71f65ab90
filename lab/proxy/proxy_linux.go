package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nslab/nslab/lab"
)

// Proxy is a running proxy: listeners in many namespaces, each forwarding to
// its route's target. Its methods are safe for concurrent use.
type Proxy struct {
	cfg  Config // as started: what cannot change while running
	live atomic.Pointer[Config]
	log  *slog.Logger
	here string // process-per-namespace child: the tenant it was started in
	host string // child: path of the parent's namespace ("host")

	nst   nsTable  // every namespace handle, counted
	watch *nsWatch // what tells it a followed namespace moved (nil: Resync only)

	mu      sync.Mutex
	tenants map[string]*tenant
	static  *tenant               // routes that are not per tenant
	fronts  map[string]*httpFront // http routes, by name
	ctrs    map[string]*counters  // by route + tenant
	gates   map[string]*tenantGate
	routes  []Route // the live routes; replaced, never changed in place (under mu)
	keys    map[ListenerKey]*listener
	// chg orders changes that must not interleave: route changes and
	// tenant removals hold it (Lock); binding and registering a tenant
	// holds it shared (RLock), so a tenant is bound with the route list of
	// one moment and is never closed while a route is added to it.
	chg      sync.RWMutex
	closed   bool
	stop     chan struct{}
	stirred  chan struct{} // a connection opened (see counters.opened); the daemon's tidy waits on it
	cpus     int           // GOMAXPROCS when made: the event loops, whatever the Ps later (scale_procs)
	bg       sync.WaitGroup
	childDir string // process-per-namespace control sockets

	// open counts the connections served now, against max_conns (by
	// default sized from the fd limit: past it, clients wait in the
	// kernel's accept queue instead of being accepted and then failed for
	// want of an fd for the upstream; at 5000 clients here, 40-60% failed
	// that way). Listeners paused for want of a slot wait in waitSlot;
	// goroutine-served ones wait on freed.
	open        atomic.Int64
	fdSlots     int
	waitMu      sync.Mutex
	waitSlot    []*listener
	slotWaiters atomic.Int64
	freed       *sync.Cond
	waiters     atomic.Int64

	// routeRefs interns the routes listeners point to (Route is a value;
	// routes change by replacement, so an entry is never stale).
	routeRefs map[Route]*Route
	hubOnce   sync.Once
	hub       *hub // waits for the listeners served by goroutines (see hub)
	hubErr    error
	loopsOnce sync.Once
	loops     []*loop     // carry the shared strategy's TCP forwarding
	loopsMade atomic.Bool // loops is set, for good (batches reads it)
	loopsErr  error
	nextTok   atomic.Uint64
	state     *stateFile // tenants added over the API, if configured

	reloadMu   sync.Mutex
	cfgRoutes  []Route  // the last config's routes (what a reload diffs against)
	cfgTenants []string // and its tenants
}

// conf is the live configuration: the one started with, or the last
// reload's.
func (p *Proxy) conf() *Config { return p.live.Load() }

// maxConns is the proxy-wide bound on connections served at once.
func (p *Proxy) maxConns() int {
	if n := p.conf().MaxConns; n > 0 {
		return n
	}
	return p.fdSlots
}

// tickEvery is how often the event loops check time-outs: a quarter of
// the shortest one, between 10 ms and 1 s.
func (p *Proxy) tickEvery() time.Duration {
	c := p.conf()
	d := time.Second
	for _, t := range []time.Duration{c.DialTimeout, c.FinTimeout, c.Limits.IdleTimeout} {
		if t > 0 {
			d = min(d, t/4)
		}
	}
	return max(d, 10*time.Millisecond)
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
// in the process, and the tenants' namespace handles opened again for
// connections (one fd each; a tenant's listener pins its namespace, see
// nsEntry). A daemon calls it whenever it goes quiet; both are made again
// when needed.
func (p *Proxy) Tidy() {
	pipes.flush()
	for _, e := range p.nst.held() {
		e.parkIfIdle(time.Now().Add(parkIdle))
	}
}

// hubOf returns the proxy's hub, started on first use.
func (p *Proxy) hubOf() (*hub, error) {
	p.hubOnce.Do(func() { p.hub, p.hubErr = newHub() })
	return p.hub, p.hubErr
}

// loopsOf returns the proxy's event loops, one per CPU the process may
// use (p.cpus), started on first use.
func (p *Proxy) loopsOf() ([]*loop, error) {
	p.loopsOnce.Do(func() {
		for range p.cpus {
			l, err := newLoop(p)
			if err != nil {
				p.loopsErr = err
				break
			}
			p.loops = append(p.loops, l)
		}
		if p.loopsErr != nil {
			for _, l := range p.loops {
				l.stop()
			}
			p.loops = nil
		}
		p.loopsMade.Store(p.loopsErr == nil)
	})
	return p.loops, p.loopsErr
}

// batches is how many batches of events the event loops have handled so
// far (0 before they start).
func (p *Proxy) batches() uint64 {
	if !p.loopsMade.Load() {
		return 0
	}
	var n uint64
	for _, l := range p.loops {
		n += l.turns.Load()
	}
	return n
}

// New starts a proxy: it binds the routes that are not per tenant and every
// tenant in cfg.Tenants (and in its state file), and serves them until
// Close. On error nothing is left open.
func New(cfg Config) (*Proxy, error) {
	return newProxy(cfg, workerSpec{})
}

// newProxy starts a proxy; a worker's spec says where it runs (see
// workerSpec: its namespace, the host's, its children's directory).
func newProxy(cfg Config, w workerSpec) (*Proxy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	p := &Proxy{
		cfg: cfg, log: cfg.Logger.With("proxy", cfg.Name), here: w.Here, host: w.HostPath, childDir: w.ChildDir,
		tenants: map[string]*tenant{}, fronts: map[string]*httpFront{}, ctrs: map[string]*counters{},
		gates: map[string]*tenantGate{}, keys: map[ListenerKey]*listener{}, stop: make(chan struct{}), stirred: make(chan struct{}, 1),
		cpus:   runtime.GOMAXPROCS(0),
		routes: cfg.Routes, cfgRoutes: slices.Clone(cfg.Routes), cfgTenants: slices.Clone(cfg.Tenants),
	}
	p.nst.p = p
	p.freed = sync.NewCond(&p.waitMu)
	live := cfg
	p.live.Store(&live)
	tenants := cfg.Tenants
	if cfg.State != "" && w.Here == "" {
		st, err := openState(cfg.State)
		if err != nil {
			return nil, err
		}
		p.state = st
		tenants = mergeTenants(tenants, st.tenants())
	}
	perTenant := 0
	for _, r := range cfg.Routes {
		if r.PerTenant() {
			perTenant++
		}
	}
	limit, err := lab.ReserveFDs(len(cfg.Routes) + (1+perTenant)*len(tenants))
	if err != nil {
		p.log.Warn("could not reserve file descriptors up front", "err", err)
	}
	p.fdSlots = connSlots(limit)
	// Grow the fd table now to what the connections may need: every
	// growth of a multi-threaded process's table waits for an RCU grace
	// period (10-35 ms here), and binding a thousand tenants later would
	// pay one on its way. (A table of 12 000 fds is ~100 KiB of kernel
	// memory.)
	lab.ReserveFDs(min(2*p.maxConns(), limit/2))
	if cfg.Rescan > 0 && w.Here == "" {
		p.watch = newWatch(p)
	}
	if err := p.startStatic(); err != nil {
		p.Close()
		return nil, err
	}
	if err := p.addTenants(tenants, false); err != nil {
		p.Close()
		return nil, err
	}
	if p.watch != nil {
		if p.watch.in != nil {
			p.bg.Add(1)
			go p.watch.read()
		}
		p.bg.Add(1)
		go p.watch.loop()
	}
	p.log.Info("proxy started", "strategy", cfg.Strategy, "routes", len(cfg.Routes), "tenants", len(tenants))
	return p, nil
}

// mergeTenants is a followed by the specs of b whose tenant a lacks.
func mergeTenants(a, b []string) []string {
	seen := map[string]bool{}
	for _, s := range a {
		n, _, _ := ParseTenant(s)
		seen[n] = true
	}
	out := append([]string(nil), a...)
	for _, s := range b {
		if n, _, err := ParseTenant(s); err == nil && !seen[n] {
			seen[n] = true
			out = append(out, s)
		}
	}
	return out
}

// newPlace makes the strategy's way of binding and dialing in ns. Static
// namespaces (host, named targets) always use the shared switch except
// under thread-per-namespace, where every namespace gets its thread.
func (p *Proxy) newPlace(e *nsEntry, tenant bool) (place, error) {
	switch {
	case p.cfg.Strategy == ThreadPerNamespace && !e.host:
		return newThreadPlace(p, e.ns)
	case p.cfg.Strategy == BlockingAccept:
		return &blockingPlace{sharedPlace{p: p, ent: e}}, nil
	}
	return &sharedPlace{p: p, ent: e}, nil
}

func (p *Proxy) counter(r Route, tenantName string, listen, target Endpoint) *counters {
	key := r.Name + "\x00" + tenantName
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.ctrs[key]
	if c == nil {
		c = &counters{route: r.Name, tenant: tenantName, listen: listen.String(), target: target.String(), stirred: p.stirred}
		p.ctrs[key] = c
	}
	return c
}

// Close stops serving: it closes every listener, connection and child,
// waits for their goroutines and lets go of every namespace. It is safe to
// call more than once.
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
	p.mu.Unlock()
	p.watch.close()
	p.bg.Wait()
	p.chg.Lock() // a route being added finishes first, then sees closed
	defer p.chg.Unlock()
	parallel(len(ts), func(i int) { p.unbind(ts[i]) })
	if static != nil {
		p.unbind(static)
	}
	for _, f := range p.frontList() {
		f.close()
	}
	if p.childDir != "" {
		os.RemoveAll(p.childDir)
	}
	for _, l := range p.loops { // every listener is closed, so out of them
		l.stop()
	}
	if p.hub != nil {
		p.hub.close()
	}
	if left := p.nst.held(); len(left) > 0 {
		p.log.Error("namespace handles still held after close", "count", len(left))
	}
	pipes.flush() // idle ones: connections still running elsewhere keep theirs
	p.log.Info("proxy stopped")
	return nil
}

func (p *Proxy) frontList() []*httpFront {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Collect(maps.Values(p.fronts))
}

// removeKey forgets a listener's identity.
func (p *Proxy) removeKey(ln *listener) {
	p.mu.Lock()
	if p.keys[ln.key] == ln {
		delete(p.keys, ln.key)
	}
	p.mu.Unlock()
}

func (p *Proxy) isClosed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errClosed
	}
	return nil
}

var errClosed = errors.New("proxy is closed")

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

// bindWorkers is how many tenants bind at once. More than one makes the
// runtime start extra threads for the concurrent locked switches, which
// then idle for the life of the process.
var bindWorkers = 1

var _ = fmt.Sprintf
