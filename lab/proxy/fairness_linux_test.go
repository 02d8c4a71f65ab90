package proxy_test

import (
	"bufio"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// slowClients holds n connections open to addr inside ns, trickling a byte
// each every second, as a client that takes its time (or a slowloris)
// does, until stop.
type slowClients struct {
	conns []net.Conn
	stop  chan struct{}
	done  sync.WaitGroup
}

func openSlow(t *testing.T, ns *lab.Netns, addr string, n int) *slowClients {
	t.Helper()
	s := &slowClients{stop: make(chan struct{})}
	for range n {
		c, err := lab.DialIn(ns, "tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("slow client %d: %v", len(s.conns), err)
		}
		s.conns = append(s.conns, c)
	}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tk.C:
			}
			for _, c := range s.conns {
				c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
				c.Write([]byte{'.'})
			}
		}
	}()
	return s
}

func (s *slowClients) close() {
	close(s.stop)
	s.done.Wait()
	for _, c := range s.conns {
		c.Close()
	}
}

// quietP99 makes n connections to the quiet tenant, each read to its
// greeting, and returns the p99 latency and how many failed.
func quietP99(ns *lab.Netns, name string, n int, timeout time.Duration) (time.Duration, int) {
	var lat []time.Duration
	failed := 0
	for range n {
		t0 := time.Now()
		c, err := lab.DialIn(ns, "tcp", "127.0.0.1:8080", timeout)
		if err != nil {
			failed++
			continue
		}
		c.SetDeadline(time.Now().Add(timeout))
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || line != name+"\n" {
			failed++
			continue
		}
		lat = append(lat, time.Since(t0))
	}
	if len(lat) == 0 {
		return 0, failed
	}
	slices.Sort(lat)
	return lat[min(len(lat)-1, len(lat)*99/100)], failed
}

// One tenant holding 500 slow connections does not starve another: with a
// limit per tenant it gets its share, its other clients wait in its own
// accept queue, and the quiet tenant's p99 stays within twice its p99
// without the abuse, with no failure. Measured in interleaved pairs
// (without, with), medians of five, so that the machine's own noise
// falls on both. Without the per-tenant limit, the same abuse takes every
// slot of the proxy and the quiet tenant is not served at all: the limit
// is what does it.
func TestOneTenantsSlowConnectionsDoNotStarveAnother(t *testing.T) {
	if testing.Short() {
		t.Skip("holds 500 connections")
	}
	slow, requests := 500, 300
	if soak() {
		slow, requests = 2000, 2000
	}
	w := newWorld(t, 2, true)
	abuser, quiet := w.names[0], w.names[1]
	routes := []proxy.Route{route("web", "{tenant}/tcp/127.0.0.1:8080", "{tenant}/tcp/10.0.0.1:9000")}
	p := mustNew(t, proxy.Config{Name: "fair", Rescan: -1, Routes: routes, Tenants: w.names,
		MaxConns: slow / 2, Limits: proxy.Limits{MaxConns: slow / 5}})
	var without, with []time.Duration
	for round := range 5 {
		p99, failed := quietP99(w.nss[quiet], quiet, requests, 5*time.Second)
		if failed > 0 {
			t.Fatalf("round %d, no abuse: %d of %d failed", round, failed, requests)
		}
		without = append(without, p99)
		s := openSlow(t, w.nss[abuser], "127.0.0.1:8080", slow)
		waitFor(func() bool { return tenantStats(p, "web", abuser).Active == int64(slow/5) })
		p99, failed = quietP99(w.nss[quiet], quiet, requests, 5*time.Second)
		st := tenantStats(p, "web", abuser)
		s.close()
		if failed > 0 {
			t.Fatalf("round %d, %d slow connections in %s: %d of %d of the quiet tenant's failed", round, slow, abuser, failed, requests)
		}
		if st.Active != int64(slow/5) || st.Limits["tenant_max_conns"] == 0 {
			t.Fatalf("round %d: the abuser had %d connections served (limit %d), limit hit %d times", round, st.Active, slow/5, st.Limits["tenant_max_conns"])
		}
		with = append(with, p99)
		waitFor(func() bool { return tenantStats(p, "web", abuser).Active == 0 })
	}
	slices.Sort(without)
	slices.Sort(with)
	t.Logf("quiet tenant's p99 over %d connections: %v without abuse, %v with %d slow connections in another tenant (each: %v / %v)",
		requests, without[2], with[2], slow, without, with)
	if with[2] > 2*without[2] {
		t.Errorf("the quiet tenant's p99 went from %v to %v under another tenant's abuse: want within 2x", without[2], with[2])
	}

	// The same abuse with no limit per tenant takes every slot.
	p2 := mustNew(t, proxy.Config{Name: "unfair", Rescan: -1, Routes: []proxy.Route{route("web", "{tenant}/tcp/127.0.0.1:8081", "{tenant}/tcp/10.0.0.1:9000")},
		Tenants: w.names, MaxConns: slow / 2})
	s, err := openSlowTo(w.nss[abuser], "127.0.0.1:8081", slow)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	waitFor(func() bool { return tenantStats(p2, "web", abuser).Active == int64(slow/2) })
	c, err := lab.DialIn(w.nss[quiet], "tcp", "127.0.0.1:8081", time.Second)
	if err == nil {
		c.SetDeadline(time.Now().Add(time.Second))
		if line, err := bufio.NewReader(c).ReadString('\n'); err == nil {
			t.Errorf("without a per-tenant limit the quiet tenant was still served (%q): the test shows nothing", line)
		}
		c.Close()
	}
}

func openSlowTo(ns *lab.Netns, addr string, n int) (*slowClients, error) {
	s := &slowClients{stop: make(chan struct{})}
	for range n {
		c, err := lab.DialIn(ns, "tcp", addr, 5*time.Second)
		if err != nil {
			s.close()
			return nil, err
		}
		s.conns = append(s.conns, c)
	}
	return s, nil
}

// tenantStats is one route's counters in one tenant.
func tenantStats(p *proxy.Proxy, route, tenant string) proxy.RouteStats {
	for _, r := range p.Stats().Routes {
		if r.Route == route && r.Tenant == tenant {
			return r
		}
	}
	return proxy.RouteStats{Route: route, Tenant: tenant}
}
