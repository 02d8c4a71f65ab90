package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// httpFront is an http route: one listener, a reverse proxy that picks the
// tenant by Host header or path prefix, and a transport that dials the
// tenant's backend inside the tenant's namespace. Every tenant's backend may
// sit at the same address, so connections are pooled per tenant: the
// request's URL host is a per-backend key ("b7.tenant.invalid"), never the
// shared address, or a pooled connection to alpha could serve beta.
type httpFront struct {
	p     *Proxy
	route Route
	l     net.Listener
	srv   *http.Server
	tr    *http.Transport
	wg    sync.WaitGroup
	ctr   *counters // the route's own: requests for no tenant, header time-outs

	mu     sync.RWMutex
	byName map[string]*backend // tenant name, in lower case → backend
	byKey  map[string]*backend // pool key → backend
	nextID atomic.Uint64
	fresh  map[net.Conn]time.Time // connections that have not sent a request yet
}

type backend struct {
	tenant string
	key    string
	target Endpoint
	ent    *nsEntry // held while the backend is registered
	gate   *tenantGate
	ctr    *counters
}

type backendCtxKey struct{}

func newHTTPFront(p *Proxy, r Route, l net.Listener) *httpFront {
	f := &httpFront{p: p, route: r, l: l, byName: map[string]*backend{}, byKey: map[string]*backend{},
		fresh: map[net.Conn]time.Time{}, ctr: p.counter(r, "", r.Listen, r.Target)}
	f.tr = &http.Transport{
		DialContext:         f.dialBackend,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
	}
	rp := &httputil.ReverseProxy{
		Rewrite:   f.rewrite,
		Transport: f.tr,
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			if b, _ := req.Context().Value(backendCtxKey{}).(*backend); b != nil {
				b.ctr.errs.Add(1)
			}
			http.Error(w, "nslab proxy: "+err.Error(), http.StatusBadGateway)
		},
	}
	lim := p.conf().Limits
	header := lim.HeaderTimeout
	if header == 0 {
		header = 30 * time.Second
	}
	f.srv = &http.Server{Handler: f.handler(rp), ReadHeaderTimeout: header, IdleTimeout: lim.IdleTimeout,
		ErrorLog: nil, ConnState: f.connState}
	return f
}

// connState counts the connections that ended without a single request
// after the header time-out: a client that trickled its headers, or sent
// none.
func (f *httpFront) connState(c net.Conn, st http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch st {
	case http.StateNew:
		f.fresh[c] = time.Now()
	case http.StateActive, http.StateHijacked:
		delete(f.fresh, c)
	case http.StateClosed:
		if t0, ok := f.fresh[c]; ok {
			delete(f.fresh, c)
			if time.Since(t0) >= f.srv.ReadHeaderTimeout {
				f.ctr.limits[limitHeader].Add(1)
			}
		}
	}
}

func (f *httpFront) serve() {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.srv.Serve(f.l)
	}()
}

// tenantOf picks the tenant a request is for, and the path to send on.
// Host names are matched as DNS matches them: in any case, with or
// without the final dot (ACC-T4.lab.test. is acc-t4.lab.test).
func (f *httpFront) tenantOf(r *http.Request) (name, path string, ok bool) {
	if f.route.Host != "" {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(strings.TrimSuffix(host, "."))
		pre, post, _ := strings.Cut(strings.ToLower(strings.TrimSuffix(f.route.Host, ".")), Tenant)
		if len(host) > len(pre)+len(post) && strings.HasPrefix(host, pre) && strings.HasSuffix(host, post) {
			return host[len(pre) : len(host)-len(post)], r.URL.Path, true
		}
		return "", "", false
	}
	pre, post, _ := strings.Cut(f.route.Path, Tenant)
	rest, ok := strings.CutPrefix(r.URL.Path, pre)
	if !ok {
		return "", "", false
	}
	end := strings.Index(rest, "/")
	if end < 0 {
		end = len(rest)
	}
	name = rest[:end]
	rest = rest[end:]
	if post != "" && post != "/" {
		if rest, ok = strings.CutPrefix(rest, post); !ok {
			return "", "", false
		}
		rest = "/" + rest
	}
	if rest == "" {
		rest = "/"
	}
	return name, rest, name != ""
}

func (f *httpFront) handler(rp *httputil.ReverseProxy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, path, ok := f.tenantOf(r)
		f.mu.RLock()
		b := f.byName[strings.ToLower(name)]
		f.mu.RUnlock()
		if !ok || b == nil {
			f.ctr.errs.Add(1)
			http.Error(w, fmt.Sprintf("nslab proxy: no tenant for %s%s (route %s picks tenants by %s)", r.Host, r.URL.Path, f.route.Name, f.pattern()), http.StatusBadGateway)
			return
		}
		if ok, kind, wait := f.p.admit(b.gate); !ok {
			b.ctr.limits[kind].Add(1)
			if kind == limitRate {
				w.Header().Set("Retry-After", fmt.Sprint(max(1, int(wait.Seconds()+0.999))))
				http.Error(w, fmt.Sprintf("nslab proxy: tenant %s is over its request rate (limits.accept_rate)", b.tenant), http.StatusTooManyRequests)
				return
			}
			http.Error(w, fmt.Sprintf("nslab proxy: tenant %s has too many requests in flight (%s)", b.tenant, kind), http.StatusServiceUnavailable)
			return
		}
		defer f.p.leave(b.gate)
		b.ctr.opened()
		b.ctr.active.Add(1)
		defer b.ctr.active.Add(-1)
		r2 := r.WithContext(context.WithValue(r.Context(), backendCtxKey{}, b))
		r2.URL.Path = path
		r2.URL.RawPath = ""
		if r.Body != nil && r.Body != http.NoBody {
			r2.Body = &countingBody{ReadCloser: r.Body, n: &b.ctr.bytesIn}
		}
		cw := &countingWriter{ResponseWriter: w}
		rp.ServeHTTP(cw, r2)
		b.ctr.bytesOut.Add(uint64(cw.n))
	})
}

func (f *httpFront) pattern() string {
	if f.route.Host != "" {
		return "host " + f.route.Host
	}
	return "path " + f.route.Path
}

func (f *httpFront) rewrite(pr *httputil.ProxyRequest) {
	b := pr.In.Context().Value(backendCtxKey{}).(*backend)
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = b.key
	pr.Out.Host = pr.In.Host // the backend sees the name the client asked for
	pr.SetXForwarded()
}

// dialBackend dials the backend whose pool key is addr, inside its tenant.
func (f *httpFront) dialBackend(ctx context.Context, network, addr string) (net.Conn, error) {
	f.mu.RLock()
	b := f.byKey[addr]
	f.mu.RUnlock()
	if b == nil {
		return nil, errors.New("tenant was removed")
	}
	return b.ent.pl.dial(ctx, b.target.Proto, b.target.Addr.String())
}

// add registers a tenant's backend.
func (f *httpFront) add(t *tenant) {
	f.p.mu.Lock()
	ent := t.ent
	if ent != nil {
		ent.hold()
	}
	f.p.mu.Unlock()
	if ent == nil {
		return
	}
	tgt := f.route.Target.In(t.name)
	b := &backend{
		tenant: t.name, target: tgt, ent: ent, gate: f.p.gateOf(t.name),
		key: fmt.Sprintf("b%d.tenant.invalid:80", f.nextID.Add(1)),
		ctr: f.p.counter(f.route, t.name, f.route.Listen, tgt),
	}
	f.mu.Lock()
	old := f.byName[strings.ToLower(t.name)]
	if old != nil {
		delete(f.byKey, old.key)
		if old.tenant != t.name {
			f.p.log.Warn("two tenants differ only in case; the http route reaches the later", "route", f.route.Name, "tenant", t.name, "hidden", old.tenant)
		}
	}
	f.byName[strings.ToLower(t.name)] = b
	f.byKey[b.key] = b
	f.mu.Unlock()
	if old != nil {
		old.ent.release()
	}
}

// remove drops a tenant's backend and its pooled connections.
func (f *httpFront) remove(t *tenant) {
	f.mu.Lock()
	b := f.byName[strings.ToLower(t.name)]
	if b != nil && b.tenant == t.name {
		delete(f.byName, strings.ToLower(t.name))
		delete(f.byKey, b.key)
	} else {
		b = nil
	}
	f.mu.Unlock()
	if b != nil {
		f.tr.CloseIdleConnections()
		b.ent.release()
	}
}

func (f *httpFront) close() {
	f.srv.Close()
	f.wg.Wait()
	f.tr.CloseIdleConnections()
	f.mu.Lock()
	bs := f.byName
	f.byName, f.byKey = map[string]*backend{}, map[string]*backend{}
	f.mu.Unlock()
	for _, b := range bs {
		b.ent.release()
	}
}

// countingBody counts the request body bytes read from the client.
type countingBody struct {
	io.ReadCloser
	n *atomic.Uint64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(uint64(n))
	return n, err
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

func (w *countingWriter) Flush() {
	if fl, ok := w.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
}
