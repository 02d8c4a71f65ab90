package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/lab/proxy"
)

func frontRoute(t *testing.T) proxy.Route {
	t.Helper()
	r, err := proxy.ParseRouteFlag("host/tcp/127.0.0.1:0={tenant}/tcp/10.0.0.1:80,http,host={tenant}.Lab.Test")
	if err != nil {
		t.Fatal(err)
	}
	r.Name = "front"
	return r
}

func frontAddr(t *testing.T, p *proxy.Proxy) string {
	t.Helper()
	for _, l := range p.Listeners() {
		if l.Route == "front" {
			return l.Addr
		}
	}
	t.Fatal("no front listener")
	return ""
}

// get asks the front for host and path; body (if any) is sent chunked.
func get(t *testing.T, addr, host, path, body string) (int, string, http.Header) {
	t.Helper()
	var rd io.Reader
	method := "GET"
	if body != "" {
		method = "POST"
		rd = io.MultiReader(strings.NewReader(body)) // no length known: chunked
	}
	req, _ := http.NewRequest(method, "http://"+addr+path, rd)
	req.Host = host
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// Host names match as DNS matches them: in any case, with or without the
// final dot; and request bodies count as bytes in, chunked or not.
func TestHTTPHostMatchesAnyCaseAndFinalDotAndBodiesCount(t *testing.T) {
	w := newWorld(t, 2, true)
	p := mustNew(t, proxy.Config{Name: "front", Rescan: -1, Routes: []proxy.Route{frontRoute(t)}, Tenants: w.names})
	addr := frontAddr(t, p)
	name := w.names[1]
	for _, host := range []string{
		name + ".lab.test", strings.ToUpper(name) + ".LAB.TEST", name + ".lab.test.", strings.ToUpper(name) + ".Lab.Test.:80",
	} {
		code, body, _ := get(t, addr, host, "/x", "")
		if code != 200 || !strings.HasPrefix(body, name+" ") {
			t.Errorf("Host %s: %d %q, want tenant %s", host, code, body, name)
		}
	}
	if code, _, _ := get(t, addr, name+".lab.test..", "/", ""); code != http.StatusBadGateway {
		t.Errorf("Host with two final dots: %d, want 502", code)
	}
	upload := strings.Repeat("u", 10000)
	if code, _, _ := get(t, addr, name+".lab.test", "/up", upload); code != 200 {
		t.Fatalf("POST: %d", code)
	}
	var in uint64
	for _, r := range p.Stats().Routes {
		if r.Route == "front" && r.Tenant == name {
			in = r.BytesIn
		}
	}
	if in != uint64(len(upload)) {
		t.Errorf("front counted %d bytes in for a %d-byte chunked body", in, len(upload))
	}
}

// A tenant over its limits on an http route gets 503 (requests in flight)
// or 429 with Retry-After (rate), counted; the other tenants are served.
func TestHTTPLimitsPerTenant(t *testing.T) {
	w := newWorld(t, 2, true)
	p := mustNew(t, proxy.Config{Name: "limits", Rescan: -1, Routes: []proxy.Route{frontRoute(t)}, Tenants: w.names,
		Limits: proxy.Limits{AcceptRate: 1, AcceptBurst: 3}})
	addr := frontAddr(t, p)
	busy, quiet := w.names[0], w.names[1]
	var codes []int
	for range 6 {
		code, _, h := get(t, addr, busy+".lab.test", "/", "")
		codes = append(codes, code)
		if code == http.StatusTooManyRequests && h.Get("Retry-After") == "" {
			t.Error("a 429 without Retry-After")
		}
	}
	if fmt.Sprint(codes) != "[200 200 200 429 429 429]" {
		t.Errorf("six quick requests with a burst of 3 at 1/s: %v", codes)
	}
	if code, _, _ := get(t, addr, quiet+".lab.test", "/", ""); code != 200 {
		t.Errorf("the other tenant got %d", code)
	}
	var hits uint64
	for _, r := range p.Stats().Routes {
		if r.Route == "front" && r.Tenant == busy {
			hits = r.Limits["accept_rate"]
		}
	}
	if hits != 3 {
		t.Errorf("accept_rate hits for %s: %d, want 3", busy, hits)
	}
}
