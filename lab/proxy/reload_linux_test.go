package proxy_test

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

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
