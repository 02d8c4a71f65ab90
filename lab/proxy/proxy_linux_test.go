package proxy_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/nslab/nslab/lab/proxy"
)

func TestSameAddressManyTenantsEachReachOnlyTheirOwn(t *testing.T) {
	w := newWorld(t, 3, true)
	front := route("front", "host/tcp/127.0.0.1:0", "{tenant}/tcp/10.0.0.1:80")
	front.Mode, front.Host = proxy.HTTP, "{tenant}.lab.test"
	cfg := proxy.Config{
		Name: "same-addr",
		Routes: []proxy.Route{
			route("web", "{tenant}/tcp/127.0.0.1:8080", "{tenant}/tcp/10.0.0.1:9000"),
			route("dns", "{tenant}/udp/127.0.0.1:8080", "{tenant}/udp/10.0.0.1:9000"),
			route("pin", "host/tcp/127.0.0.1:0", w.names[1]+"/tcp/10.0.0.1:9000"),
			front,
		},
		Tenants: w.names,
	}
	p := mustNew(t, cfg)

	for _, name := range w.names {
		if got := hello(t, w.nss[name], "127.0.0.1:8080"); got != name {
			t.Errorf("tcp 127.0.0.1:8080 in %s answered %q", name, got)
		}
		if got := askUDP(t, w.nss[name], "127.0.0.1:8080", "q"); got != name+":q" {
			t.Errorf("udp 127.0.0.1:8080 in %s answered %q", name, got)
		}
	}
	var pin, frontAddr string
	for _, l := range p.Listeners() {
		switch l.Route {
		case "pin":
			pin = l.Addr
		case "front":
			frontAddr = l.Addr
		}
	}
	if got := hello(t, nil, pin); got != w.names[1] {
		t.Errorf("the pinned route reached %q, want %q", got, w.names[1])
	}

	// HTTP by Host: many requests interleaved over a shared transport; a
	// pooled connection must never carry one tenant's request to another.
	var wg sync.WaitGroup
	errs := make(chan string, 300)
	for i := range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := w.names[i%3]
			req, _ := http.NewRequest("GET", "http://"+frontAddr+"/x", nil)
			req.Host = name + ".lab.test"
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.HasPrefix(string(body), name+" "+name+".lab.test /x") {
				errs <- "asked " + name + ", got " + string(body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	req, _ := http.NewRequest("GET", "http://"+frontAddr+"/", nil)
	req.Host = "nobody.lab.test"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("unknown tenant: status %d, want 502", resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
	st := p.Stats()
	for _, r := range st.Routes {
		if r.Route == "front" && r.Tenant == "" { // the route's own: requests for no tenant
			if r.Errors != 1 {
				t.Errorf("front counted %d requests for no tenant, want 1", r.Errors)
			}
			continue
		}
		if r.Route == "front" && r.Conns != 100 {
			t.Errorf("front counted %d requests for %s, want 100", r.Conns, r.Tenant)
		}
		if r.Route == "web" && r.Conns != 1 {
			t.Errorf("web counted %d connections for %s, want 1", r.Conns, r.Tenant)
		}
	}
}
