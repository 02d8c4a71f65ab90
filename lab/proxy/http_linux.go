package proxy

import (
	"context"
	"errors"
	"fmt"
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

	mu     sync.RWMutex
	byName map[string]*backend // tenant name → backend
	byKey  map[string]*backend // pool key → backend
	nextID atomic.Uint64
}

type backend struct {
	tenant string
	key    string
	target Endpoint
	dial   dialFunc
	ctr    *counters
}

type backendCtxKey struct{}

func newHTTPFront(p *Proxy, r Route, l net.Listener) *httpFront {
	f := &httpFront{p: p, route: r, l: l, byName: map[string]*backend{}, byKey: map[string]*backend{}}
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
	f.srv = &http.Server{Handler: f.handler(rp), ReadHeaderTimeout: 30 * time.Second, ErrorLog: nil}
	return f
}

func (f *httpFront) serve() {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.srv.Serve(f.l)
	}()
}

// tenantOf picks the tenant a request is for, and the path to send on.
func (f *httpFront) tenantOf(r *http.Request) (name, path string, ok bool) {
	if f.route.Host != "" {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		pre, post, _ := strings.Cut(f.route.Host, Tenant)
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
		b := f.byName[name]
		f.mu.RUnlock()
		if !ok || b == nil {
			http.Error(w, fmt.Sprintf("nslab proxy: no tenant for %s%s (route %s picks tenants by %s)", r.Host, r.URL.Path, f.route.Name, f.pattern()), http.StatusBadGateway)
			return
		}
		b.ctr.conns.Add(1)
		b.ctr.active.Add(1)
		defer b.ctr.active.Add(-1)
		if r.ContentLength > 0 {
			b.ctr.bytesIn.Add(uint64(r.ContentLength))
		}
		r2 := r.WithContext(context.WithValue(r.Context(), backendCtxKey{}, b))
		r2.URL.Path = path
		r2.URL.RawPath = ""
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
	return b.dial(ctx, b.target.Proto, b.target.Addr.String())
}

// add registers a tenant's backend.
func (f *httpFront) add(t *tenant) {
	if t.pl == nil {
		return
	}
	tgt := f.route.Target.In(t.name)
	pl, err := f.p.targetPlace(t, tgt.Netns)
	if err != nil {
		f.p.log.Warn("http backend", "route", f.route.Name, "tenant", t.name, "err", err)
		return
	}
	b := &backend{
		tenant: t.name, target: tgt, dial: pl.dial,
		key: fmt.Sprintf("b%d.tenant.invalid:80", f.nextID.Add(1)),
		ctr: f.p.counter(f.route, t.name, f.route.Listen, tgt),
	}
	f.mu.Lock()
	if old := f.byName[t.name]; old != nil {
		delete(f.byKey, old.key)
	}
	f.byName[t.name] = b
	f.byKey[b.key] = b
	f.mu.Unlock()
}

// remove drops a tenant's backend and its pooled connections.
func (f *httpFront) remove(t *tenant) {
	f.mu.Lock()
	b := f.byName[t.name]
	if b != nil {
		delete(f.byName, t.name)
		delete(f.byKey, b.key)
	}
	f.mu.Unlock()
	if b != nil {
		f.tr.CloseIdleConnections()
	}
}

func (f *httpFront) close() {
	f.srv.Close()
	f.wg.Wait()
	f.tr.CloseIdleConnections()
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
