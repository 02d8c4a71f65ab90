package proxy

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/nslab/nslab/lab"
)

// fakeProxy records what the control API asked of it.
type fakeProxy struct {
	mu      sync.Mutex
	tenants []string
	routes  []Route
}

func (f *fakeProxy) AddTenant(names ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range names {
		for _, t := range f.tenants {
			if t == n {
				return fmt.Errorf("tenant %s: %w", n, lab.ErrExists)
			}
		}
		f.tenants = append(f.tenants, n)
	}
	return nil
}

func (f *fakeProxy) RemoveTenant(names ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range names {
		i := -1
		for j, t := range f.tenants {
			if t == n {
				i = j
			}
		}
		if i < 0 {
			return fmt.Errorf("tenant %s: %w", n, lab.ErrNotFound)
		}
		f.tenants = append(f.tenants[:i], f.tenants[i+1:]...)
	}
	return nil
}

func (f *fakeProxy) Tenants() []string { return f.tenants }
func (f *fakeProxy) Resync() error     { return nil }
func (f *fakeProxy) Stats() Stats      { return Stats{Name: "fake"} }
func (f *fakeProxy) Metrics() Metrics  { return Metrics{Stats: f.Stats()} }
func (f *fakeProxy) Routes() []Route   { return f.routes }
func (f *fakeProxy) AddRoute(r Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes = append(f.routes, r)
	return nil
}
func (f *fakeProxy) RemoveRoute(name string) error {
	return fmt.Errorf("route %s: %w", name, lab.ErrNotFound)
}

func control(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, target, strings.NewReader(body)))
	return w
}

// What a confused client or a hand-written curl sends gets a 4xx that
// says what was wrong, and changes nothing.
func TestMalformedControlRequestsGetA4xxThatSaysWhy(t *testing.T) {
	f := &fakeProxy{tenants: []string{"alpha"}}
	h := controlHandler(f, func() { t.Error("a malformed request stopped the proxy") }, nil)
	good := `{"name":"web","listen":"{tenant}/tcp/127.0.0.1:8080","target":"{tenant}/tcp/10.0.0.1:9000"}`
	for _, c := range []struct {
		method, target, body string
		status               int
		says                 string
	}{
		{"POST", "/routes", `{"name":"web",`, 400, "unexpected EOF"},
		{"POST", "/routes", `not json`, 400, "invalid character"},
		{"POST", "/routes", `{"name":"web","listen":"{tenant}/tcp/127.0.0.1:8080","target":"{tenant}/tcp/10.0.0.1:9000","colour":"red"}`, 400, `unknown field "colour"`},
		{"POST", "/routes", `{"name":"web","listen":"alpha/tcp/localhost:80","target":"{tenant}/tcp/10.0.0.1:9000"}`, 400, "IP literal"},
		{"POST", "/routes", `{"name":"web","listen":"alpha/icmp/10.0.0.1:80","target":"{tenant}/tcp/10.0.0.1:9000"}`, 400, "unknown protocol"},
		{"POST", "/routes", `{"name":"web"}`, 400, "listen and target are both required"},
		{"POST", "/routes", good + good, 400, "one route per request"},
		{"POST", "/routes", `{"name":"` + strings.Repeat("x", maxControlBody) + `"}`, 413, "over 65536 bytes"},
		{"POST", "/tenants", "", 400, "?name="},
		{"POST", "/tenants?name=../etc", "", 400, "name"},
		{"POST", "/tenants?name=alpha", "", 409, "already exists"},
		{"DELETE", "/tenants?name=ghost", "", 404, "ghost"},
		{"DELETE", "/routes", "", 400, "?name="},
		{"DELETE", "/routes?name=nope", "", 404, "nope"},
		{"PUT", "/stats", "", 405, "use GET /stats"},
		{"GET", "/stop", "", 405, "use POST /stop"},
		{"GET", "/nonsense", "", 404, "no control endpoint GET /nonsense"},
	} {
		w := control(h, c.method, c.target, c.body)
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.says) {
			t.Errorf("%s %s %.60q: %d %q; want %d saying %q", c.method, c.target, c.body, w.Code, strings.TrimSpace(w.Body.String()), c.status, c.says)
		}
	}
	if len(f.routes) != 0 || len(f.tenants) != 1 {
		t.Errorf("malformed requests changed the proxy: routes %v, tenants %v", f.routes, f.tenants)
	}
	if w := control(h, "POST", "/routes", good); w.Code != 200 || len(f.routes) != 1 {
		t.Errorf("a good route: %d %q, routes %v", w.Code, w.Body.String(), f.routes)
	}
}

// FuzzControlRequest throws arbitrary requests at the control API: it must
// never panic and never answer a request with a 5xx (the fake proxy itself
// never fails), and a 4xx always carries a message.
func FuzzControlRequest(f *testing.F) {
	for _, s := range []struct{ method, target, body string }{
		{"GET", "/stats", ""},
		{"POST", "/tenants?name=alpha&name=beta", ""},
		{"DELETE", "/tenants?name=alpha", ""},
		{"POST", "/routes", `{"name":"web","listen":"{tenant}/tcp/127.0.0.1:8080","target":"{tenant}/tcp/10.0.0.1:9000"}`},
		{"POST", "/routes", `{"name":"front","mode":"http","listen":"host/tcp/[::1]:80","target":"{tenant}/tcp/10.0.0.1:80","host":"{tenant}.x"}`},
		{"POST", "/routes", `{"listen":"a/udp/1.2.3.4:5","target":7}`},
		{"DELETE", "/routes?name=web", ""},
		{"POST", "/resync", ""},
	} {
		f.Add(s.method, s.target, s.body)
	}
	f.Fuzz(func(t *testing.T, method, target, body string) {
		req, err := http.NewRequest(method, "http://proxy"+target, strings.NewReader(body))
		if err != nil || req.URL.Path == "/stop" {
			return // not a request a client can send; /stop ends the fake
		}
		w := httptest.NewRecorder()
		controlHandler(&fakeProxy{}, func() {}, nil).ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %q %q: %d %s", method, target, body, w.Code, w.Body)
		}
		if w.Code >= 400 && strings.TrimSpace(w.Body.String()) == "" {
			t.Fatalf("%s %q %q: %d with no message", method, target, body, w.Code)
		}
	})
}

// FuzzParseConfig feeds the proxy's YAML loader arbitrary files: an error or
// a config, never a panic; a config it accepts survives Validate.
func FuzzParseConfig(f *testing.F) {
	f.Add("name: edge\nstrategy: shared\ntenants: [alpha, beta]\nroutes:\n  - name: web\n    listen: \"{tenant}/tcp/127.0.0.1:8080\"\n    target: \"{tenant}/tcp/10.0.0.1:9000\"\n")
	f.Add("routes:\n  - name: front\n    mode: http\n    listen: host/tcp/127.0.0.1:8000\n    target: \"{tenant}/tcp/10.0.0.1:80\"\n    host: \"{tenant}.lab.test\"\n")
	f.Add("udp_idle: 45s\ncontrol: /run/nslab/x.sock\n")
	f.Add("routes: [{name: a, listen: b, target: c}]\n")
	f.Add("- just\n- a list\n")
	f.Add("&a [*a]")
	f.Fuzz(func(t *testing.T, src string) {
		c, err := ParseConfig("fuzz.yaml", []byte(src))
		if err == nil {
			c.Validate()
		}
	})
}
