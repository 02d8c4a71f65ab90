package proxy_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// churnTenant is one tenant whose namespace the churn deletes and makes
// again: its current handle, and its backend, which answers every
// connection with the inode of the namespace it runs in.
type churnTenant struct {
	name string
	mu   sync.Mutex
	ns   *lab.Netns
	l    net.Listener
	done chan struct{}
}

// current is the tenant's namespace now, held for the caller (nil while
// it is being made again).
func (c *churnTenant) current() *lab.Netns {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ns == nil {
		return nil
	}
	ns, err := lab.OpenNetnsPath(c.ns.Name(), c.ns.Path())
	if err != nil || ns.Inode() != c.ns.Inode() {
		if ns != nil {
			ns.Close()
		}
		return nil
	}
	return ns
}

func (c *churnTenant) up(t testing.TB, s *lab.Session) {
	ns, err := s.AddNetns(c.name)
	if err != nil {
		t.Error(err)
		return
	}
	if err := s.SetLinkUp("lo", c.name, true); err != nil {
		t.Error(err)
	}
	l, err := lab.ListenIn(ns, "tcp", "127.0.0.1:9000")
	if err != nil {
		t.Error(err)
		return
	}
	token := strconv.FormatUint(ns.Inode(), 10) + "\n"
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			cn, err := l.Accept()
			if err != nil {
				return
			}
			cn.Write([]byte(token))
			cn.Close()
		}
	}()
	c.mu.Lock()
	c.ns, c.l, c.done = ns, l, done
	c.mu.Unlock()
}

func (c *churnTenant) down(t testing.TB, s *lab.Session) {
	c.mu.Lock()
	ns, l, done := c.ns, c.l, c.done
	c.ns = nil
	c.mu.Unlock()
	if ns == nil {
		return
	}
	l.Close()
	<-done
	ns.Close()
	if err := s.DelNetns(c.name); err != nil {
		t.Error(err)
	}
}

// The one failure a multi-tenant proxy must never have: a connection
// served in another tenant's namespace. 16 clients connect through every
// tenant while the tenants' namespaces are deleted and made again under
// the same names (the proxy follows them by inode), and tenants are
// removed and added over the API. Every relay's client and upstream
// sockets are asked where they live (SIOCGSKNS) against the namespace the
// listener was bound in, and every answer a client gets is checked
// against the namespace the client connected from: 0 wrong.
// NSLAB_SOAK=1 runs it over 100 000 connections served.
func TestNeverTheWrongTenantWhileNamespacesChurn(t *testing.T) {
	target := 4000
	if soak() {
		target = 100_000
	}
	if testing.Short() {
		t.Skip("churns namespaces for a while")
	}
	w := newWorld(t, 0, false)
	tenants := make([]*churnTenant, 6)
	var names []string
	for i := range tenants {
		tenants[i] = &churnTenant{name: fmt.Sprintf("%s-w%d", w.base, i)}
		tenants[i].up(t, w.s)
		names = append(names, tenants[i].name)
	}
	t.Cleanup(func() {
		for _, c := range tenants {
			c.down(t, w.s)
		}
	})

	var hooked, wrongSock atomic.Int64
	undo := proxy.SetConnHook(func(listenIno, targetIno uint64, client, upstream int) {
		hooked.Add(1)
		c, err1 := labtest.SocketNetns(client)
		u, err2 := labtest.SocketNetns(upstream)
		if err1 != nil || err2 != nil || c != listenIno || u != targetIno || listenIno != targetIno {
			wrongSock.Add(1)
			t.Errorf("relay: client socket in net:[%d] (%v), upstream in net:[%d] (%v); listener in net:[%d], target net:[%d]", c, err1, u, err2, listenIno, targetIno)
		}
	})
	defer undo()
	p := mustNew(t, proxy.Config{Name: "churn",
		Routes:  []proxy.Route{route("web", "{tenant}/tcp/127.0.0.1:8080", "{tenant}/tcp/127.0.0.1:9000")},
		Tenants: names, Rescan: 20 * time.Millisecond})

	stop := make(chan struct{})
	var churns atomic.Int64
	var churnWG sync.WaitGroup
	churnWG.Add(1)
	go func() { // delete and make again, and remove and add, until stopped
		defer churnWG.Done()
		r := rand.New(rand.NewPCG(1, 2))
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-time.After(15 * time.Millisecond):
			}
			c := tenants[r.IntN(len(tenants))]
			if n%4 == 3 { // out of the proxy and back, over the API
				p.RemoveTenant(c.name)
				if err := p.AddTenant(c.name); err != nil {
					t.Errorf("add %s back: %v", c.name, err)
				}
			} else {
				c.down(t, w.s)
				c.up(t, w.s)
			}
			churns.Add(1)
		}
	}()

	var attempts, served, wrong atomic.Int64
	var wg sync.WaitGroup
	for k := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 32)
			// Until target connections were served (not merely tried:
			// some find their namespace being made again), within 3x.
			for i := k; served.Load() < int64(target) && attempts.Add(1) <= 3*int64(target); i++ {
				ns := tenants[i%len(tenants)].current()
				if ns == nil {
					continue
				}
				ok, bad := askToken(ns, buf)
				ns.Close()
				if ok {
					served.Add(1)
				}
				if bad != "" {
					wrong.Add(1)
					t.Error(bad)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	churnWG.Wait()
	t.Logf("%d connections tried, %d served through the proxy (%d relays checked by SIOCGSKNS), %d churns; wrong: %d answers, %d sockets",
		min(attempts.Load(), 3*int64(target)), served.Load(), hooked.Load(), churns.Load(), wrong.Load(), wrongSock.Load())
	if wrong.Load() != 0 || wrongSock.Load() != 0 {
		t.Fatalf("%d answers and %d sockets in the wrong tenant", wrong.Load(), wrongSock.Load())
	}
	if served.Load() < int64(target) || hooked.Load() < served.Load() {
		t.Fatalf("only %d of %d connections served (%d relays seen): the churn left too little to judge", served.Load(), target, hooked.Load())
	}
	if churns.Load() < 10 {
		t.Fatalf("only %d churns happened during the run", churns.Load())
	}
	// Every tenant out: no namespace handle is left.
	if err := p.RemoveTenant(p.Tenants()...); err != nil {
		t.Fatal(err)
	}
	if h := p.Stats().Namespaces; h != 0 {
		t.Errorf("%d namespaces held with no tenant left: %v", h, proxy.Held(p))
	}
}

// askToken connects to the proxy inside ns and reads the answer: the
// inode of the namespace the backend that answered runs in. It must be the
// namespace the client's own socket is in (ns, as SIOCGSKNS says). ok is
// false when nothing answered (a tenant between namespaces: refused or
// reset), bad says what was wrong.
func askToken(ns *lab.Netns, buf []byte) (ok bool, bad string) {
	c, err := lab.DialIn(ns, "tcp", "127.0.0.1:8080", 2*time.Second)
	if err != nil {
		return false, ""
	}
	defer c.Close()
	var mine uint64
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { mine, _ = labtest.SocketNetns(int(fd)) })
		}
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return false, ""
	}
	got, err := strconv.ParseUint(strings.TrimSpace(line), 10, 64)
	if err != nil {
		return false, fmt.Sprintf("an answer that is no backend's: %q", line)
	}
	if got != mine || mine != ns.Inode() {
		return true, fmt.Sprintf("a client in net:[%d] (its socket in net:[%d]) was answered by a backend in net:[%d]", ns.Inode(), mine, got)
	}
	return true, ""
}
