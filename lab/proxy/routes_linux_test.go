package proxy_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// Routes come and go while the proxy runs: a per-tenant route is bound in
// every tenant (and in tenants added later), a host route once; removing a
// route closes its sockets and forgets its counters; the rest keep serving.
func TestAddAndRemoveRoutesWhileRunning(t *testing.T) {
	for _, st := range []proxy.Strategy{proxy.Shared, proxy.ThreadPerNamespace, proxy.BlockingAccept} {
		t.Run(string(st), func(t *testing.T) { testAddAndRemoveRoutes(t, st) })
	}
	// process-per-namespace children carry the routes they started with.
	p := mustNew(t, proxy.Config{Name: "routes-ppn", Strategy: proxy.ProcessPerNamespace, Routes: tenantRoutes(), Rescan: -1})
	if err := p.AddRoute(route("alt", "{tenant}/tcp/127.0.0.1:8081", "{tenant}/tcp/10.0.0.1:9000")); !errors.Is(err, lab.ErrUnsupported) {
		t.Errorf("process-per-namespace AddRoute of a tenant route: %v, want ErrUnsupported", err)
	}
}

func testAddAndRemoveRoutes(t *testing.T, st proxy.Strategy) {
	w := newWorld(t, 3, true)
	before := goleak.IgnoreCurrent()
	p := mustNew(t, proxy.Config{
		Name:     "routes",
		Strategy: st,
		Routes:   []proxy.Route{route("web", "{tenant}/tcp/127.0.0.1:8080", "{tenant}/tcp/10.0.0.1:9000")},
		Tenants:  w.names[:2],
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.AddRoute(route("alt", "{tenant}/tcp/127.0.0.1:8081", "{tenant}/tcp/10.0.0.1:9000")); err != nil {
		t.Fatal(err)
	}
	if err := p.AddRoute(route("pin", "host/tcp/127.0.0.1:0", w.names[2]+"/tcp/10.0.0.1:9000")); err != nil {
		t.Fatal(err)
	}
	if err := p.AddRoute(route("alt", "{tenant}/tcp/127.0.0.1:8082", "{tenant}/tcp/10.0.0.1:9000")); !errors.Is(err, lab.ErrExists) {
		t.Errorf("a second route named alt: %v, want ErrExists", err)
	}
	// A route that cannot bind (8080 is web's in every tenant) is not kept.
	if err := p.AddRoute(route("clash", "{tenant}/tcp/127.0.0.1:8080", "{tenant}/tcp/10.0.0.1:9000")); err == nil {
		t.Error("a route on web's address bound")
	}
	if err := p.AddTenant(w.names[2]); err != nil { // gets web and alt
		t.Fatal(err)
	}
	for _, name := range w.names {
		for _, port := range []string{"8080", "8081"} {
			if got := hello(t, w.nss[name], "127.0.0.1:"+port); got != name {
				t.Errorf("tcp 127.0.0.1:%s in %s answered %q", port, name, got)
			}
		}
	}
	var pin string
	for _, l := range p.Listeners() {
		if l.Route == "clash" {
			t.Errorf("the failed route left a listener: %+v", l)
		}
		if l.Route == "pin" {
			pin = l.Addr
		}
	}
	if got := hello(t, nil, pin); got != w.names[2] {
		t.Errorf("the added host route reached %q, want %q", got, w.names[2])
	}
	if n := len(p.Listeners()); n != 3*2+1 {
		t.Errorf("%d listeners, want 7 (web and alt in 3 tenants, pin)", n)
	}

	if err := p.RemoveRoute("alt"); err != nil {
		t.Fatal(err)
	}
	if err := p.RemoveRoute("alt"); !errors.Is(err, lab.ErrNotFound) {
		t.Errorf("removing alt twice: %v, want ErrNotFound", err)
	}
	for _, name := range w.names {
		if c, err := lab.DialIn(w.nss[name], "tcp", "127.0.0.1:8081", time.Second); err == nil {
			c.Close()
			t.Errorf("127.0.0.1:8081 in %s still accepts after RemoveRoute", name)
		}
		if got := hello(t, w.nss[name], "127.0.0.1:8080"); got != name {
			t.Errorf("web in %s answered %q after alt was removed", name, got)
		}
	}
	for _, r := range p.Stats().Routes {
		if r.Route == "alt" {
			t.Errorf("alt's counters outlived it: %+v", r)
		}
	}

	// Start tied the proxy to ctx: cancelling it closes everything.
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for len(p.Listeners()) > 0 || len(p.Tenants()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("cancelling Start's context left %d listeners", len(p.Listeners()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.AddRoute(route("late", "host/tcp/127.0.0.1:0", w.names[0]+"/tcp/10.0.0.1:9000")); err == nil {
		t.Error("AddRoute after the context ended bound a route")
	}
	// The Close the context started may still be finishing: goleak retries.
	goleak.VerifyNone(t, before)
}

// Routes and tenants changing at once, from two goroutines: afterwards
// exactly the surviving route's listeners are left, and Close leaves no
// goroutine.
func TestRoutesAndTenantsChangeConcurrently(t *testing.T) {
	w := newWorld(t, 4, true)
	before := goleak.IgnoreCurrent()
	p, err := proxy.New(proxy.Config{
		Name:    "churn",
		Routes:  []proxy.Route{route("web", "{tenant}/tcp/127.0.0.1:8080", "{tenant}/tcp/10.0.0.1:9000")},
		Tenants: w.names, Rescan: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 30 {
			p.RemoveTenant(w.names[3])
			if err := p.AddTenant(w.names[3]); err != nil {
				t.Errorf("AddTenant %d: %v", i, err)
			}
		}
	}()
	for i := range 30 {
		name := fmt.Sprintf("alt%d", i)
		if err := p.AddRoute(route(name, fmt.Sprintf("{tenant}/tcp/127.0.0.1:%d", 8100+i), "{tenant}/tcp/10.0.0.1:9000")); err != nil {
			t.Errorf("AddRoute %s: %v", name, err)
			continue
		}
		if err := p.RemoveRoute(name); err != nil {
			t.Errorf("RemoveRoute %s: %v", name, err)
		}
	}
	<-done
	ls := p.Listeners()
	for _, l := range ls {
		if l.Route != "web" {
			t.Errorf("a listener of removed route %s is left in %s", l.Route, l.Tenant)
		}
	}
	if len(ls) != 4 {
		t.Errorf("%d listeners, want web in each of 4 tenants", len(ls))
	}
	for _, name := range w.names {
		if got := hello(t, w.nss[name], "127.0.0.1:8080"); got != name {
			t.Errorf("web in %s answered %q", name, got)
		}
	}
	p.Close()
	goleak.VerifyNone(t, before)
}

// A reload applies the new config's difference and drops nothing else: a
// connection open through a tenant and a route that stay goes on; a
// removed tenant's listeners go, a new one's come; a changed route is
// rebound; a tenant added over the API is not the config's to remove.
func TestReloadAppliesTheDifferenceAndDropsNothingElse(t *testing.T) {
	w := newWorld(t, 4, true)
	a, b, c, api := w.names[0], w.names[1], w.names[2], w.names[3]
	web := route("web", "{tenant}/tcp/127.0.0.1:8080", "{tenant}/tcp/10.0.0.1:9000")
	cfg := proxy.Config{Name: "reload", Rescan: -1, Tenants: []string{a, b},
		Routes: []proxy.Route{web, route("side", "host/tcp/127.0.0.1:0", a+"/tcp/10.0.0.1:9000")}}
	p := mustNew(t, cfg)
	if err := p.AddTenant(api); err != nil {
		t.Fatal(err)
	}
	// A connection that must live through the reload.
	held, err := lab.DialIn(w.nss[a], "tcp", "127.0.0.1:8080", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	rd := bufio.NewReader(held)
	held.SetDeadline(time.Now().Add(10 * time.Second))
	if line, _ := rd.ReadString('\n'); line != a+"\n" {
		t.Fatalf("greeting %q", line)
	}

	next := cfg
	next.Tenants = []string{a, c}
	next.Routes = []proxy.Route{web, route("side", "host/tcp/127.0.0.1:0", c+"/tcp/10.0.0.1:9000"),
		route("alt", "{tenant}/tcp/127.0.0.1:8081", "{tenant}/tcp/10.0.0.1:9000")}
	next.Limits.IdleTimeout = time.Minute
	if err := p.Reload(next); err != nil {
		t.Fatal(err)
	}
	held.Write([]byte("still here"))
	buf := make([]byte, len("still here"))
	if _, err := io.ReadFull(rd, buf); err != nil || string(buf) != "still here" {
		t.Errorf("the connection through %s after the reload: %q, %v; want it untouched", a, buf, err)
	}
	if got := strings.Join(p.Tenants(), ","); got != strings.Join(sortedNames(a, c, api), ",") {
		t.Errorf("tenants after the reload: %s, want %s", got, strings.Join(sortedNames(a, c, api), ","))
	}
	if _, err := lab.DialIn(w.nss[b], "tcp", "127.0.0.1:8080", time.Second); err == nil {
		t.Errorf("%s, removed from the config, still listens", b)
	}
	for _, n := range []string{a, c, api} {
		if got := hello(t, w.nss[n], "127.0.0.1:8081"); got != n {
			t.Errorf("the new route in %s answered %q", n, got)
		}
	}
	for _, l := range p.Listeners() {
		if l.Route == "side" {
			if got := hello(t, nil, l.Addr); got != c {
				t.Errorf("the changed route side answered %q, want %s", got, c)
			}
		}
	}
	// What a running proxy cannot change is refused, and nothing applied.
	bad := next
	bad.Strategy = proxy.ThreadPerNamespace
	bad.Tenants = nil
	if err := p.Reload(bad); !errors.Is(err, lab.ErrUnsupported) || !strings.Contains(err.Error(), "strategy") {
		t.Errorf("a reload changing the strategy: %v, want it refused, naming strategy", err)
	}
	if len(p.Tenants()) != 3 {
		t.Errorf("a refused reload changed the tenants: %v", p.Tenants())
	}
}

func sortedNames(ns ...string) []string {
	out := append([]string(nil), ns...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
