package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nslab/nslab/lab"
	"golang.org/x/sys/unix"
)

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// counters of one route in one tenant; they outlive rebinds.
type counters struct {
	route, tenant, listen, target  string
	conns, bytesIn, bytesOut, errs atomic.Uint64
	active                         atomic.Int64
	limits                         [nLimits]atomic.Uint64 // times each limit stopped or ended a client
	stirred                        chan<- struct{}        // Proxy.stirred (nil: nobody to tell)
}

// opened counts a new connection (an HTTP request, a UDP flow) and tells
// the daemon that traffic came: it waits on that instead of polling the
// counters. A send on a full channel is a load and a compare.
func (c *counters) opened() {
	c.conns.Add(1)
	if c.stirred != nil {
		select {
		case c.stirred <- struct{}{}:
		default:
		}
	}
}

func (c *counters) snapshot() RouteStats {
	rs := RouteStats{
		Route: c.route, Tenant: c.tenant, Listen: c.listen, Target: c.target,
		Conns: c.conns.Load(), Active: c.active.Load(), BytesIn: c.bytesIn.Load(),
		BytesOut: c.bytesOut.Load(), Errors: c.errs.Load(),
	}
	for k := range c.limits {
		if n := c.limits[k].Load(); n > 0 {
			if rs.Limits == nil {
				rs.Limits = map[string]uint64{}
			}
			rs.Limits[limitKind(k).String()] = n
		}
	}
	return rs
}

// listener is one bound socket of a route and everything it serves.
type listener struct {
	p      *Proxy
	route  *Route
	tenant string
	key    ListenerKey
	sock   lab.Socket
	lent   *nsEntry                // the namespace it listens in (held)
	tgt    atomic.Pointer[nsEntry] // where it connects (held; replaced when a named target is made again)
	tnet   string                  // the target's protocol and address
	taddr  netip.AddrPort
	ctr    *counters
	gate   *tenantGate // its tenant's limits (nil: a route of no tenant)

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // goroutine-served: open client and upstream connections
	closed bool
	done   chan struct{} // closed by close: stops a wait for a connection slot
	wg     sync.WaitGroup
	front  *httpFront
	udp    udpSessions
	paused atomic.Bool // a limit stopped it (see pauseFor)

	// Served by the proxy's hub (nil: by a goroutine of its own).
	hub     *hub
	hubID   int32
	hubRC   syscall.RawConn
	raw     *rawConn     // the socket, if made raw (lab.Socket.Raw)
	backoff atomic.Int64 // ns to wait after a failed accept

	// Served by the proxy's event loops (shared TCP forwarding).
	tok   uint64
	loops []*loop
	live  atomic.Int64 // its relays, open or being set up
}

// target is where the listener connects now.
func (ln *listener) target() *nsEntry { return ln.tgt.Load() }

// dial connects upstream the goroutine way (a net.Conn).
func (ln *listener) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	t := ln.target()
	if t == nil {
		return nil, errTargetGone
	}
	return t.pl.dial(ctx, network, addr)
}

func sockAddr(s *lab.Socket) string {
	switch {
	case s.FD() >= 0:
		if sa, err := unix.Getsockname(s.FD()); err == nil {
			return sockaddrToNet("udp", sa).String()
		}
	case s.Listener != nil:
		return s.Listener.Addr().String()
	case s.Packet != nil:
		return s.Packet.LocalAddr().String()
	}
	return ""
}

func (ln *listener) info() Listener {
	ns := ln.route.Listen.In(ln.tenant).Netns
	// The key's address is the socket's (an ephemeral port was filled in
	// at bind): no getsockname per listener per call.
	return Listener{Key: ln.key, Route: ln.route.Name, Tenant: ln.tenant, Netns: ns, Addr: ln.key.Addr}
}

// start serves the socket: an http front, the event loops (TCP forwarded
// by the shared strategy), the hub, or a goroutine of its own.
func (ln *listener) start() error {
	switch {
	case ln.route.Mode == HTTP:
		f := newHTTPFront(ln.p, *ln.route, ln.sock.Listener)
		ln.front = f
		ln.p.mu.Lock()
		ln.p.fronts[ln.route.Name] = f
		var ts []*tenant
		for _, t := range ln.p.tenants {
			ts = append(ts, t)
		}
		ln.p.mu.Unlock()
		for _, t := range ts {
			f.add(t)
		}
		f.serve()
	case ln.raw != nil && ln.sock.Stream() && ln.p.cfg.Strategy == Shared:
		return ln.serveInLoops()
	default:
		if rc := hubConn(ln); rc != nil {
			h, err := ln.p.hubOf()
			if err == nil {
				err = h.add(ln, rc)
			}
			if err == nil {
				return nil
			}
			if ln.raw != nil { // nothing else can wait on it
				return fmt.Errorf("serve %s %s: %w", ln.route.Listen.Proto, ln.key.Addr, err)
			}
		}
		ln.wg.Add(1)
		if ln.sock.Listener != nil {
			go ln.serveStream()
		} else {
			go ln.servePacket()
		}
	}
	return nil
}

// serveInLoops puts the listener in every event loop's set.
func (ln *listener) serveInLoops() error {
	loops, err := ln.p.loopsOf()
	if err != nil {
		return err
	}
	ln.tok = tokListener | ln.p.nextTok.Add(1)
	var aerr error
	ln.raw.Control(func(fd uintptr) {
		// Accepted sockets inherit Nagle's setting from their listener:
		// one setsockopt here instead of one per connection.
		unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		for i, l := range loops {
			if aerr = l.addListener(ln, int(fd)); aerr != nil {
				for _, done := range loops[:i] {
					done.removeListener(ln, int(fd))
				}
				return
			}
		}
	})
	if aerr != nil {
		return fmt.Errorf("serve %s %s: %w", ln.route.Listen.Proto, ln.key.Addr, aerr)
	}
	ln.mu.Lock()
	ln.loops = loops
	ln.mu.Unlock()
	return nil
}

// acceptBatch is how many connections a loop accepts from one listener
// before it looks at its other events (level-triggered: the rest are
// reported again).
const acceptBatch = 16

// acceptIn accepts on loop l what waits on the listener, within the
// limits, and starts relaying each connection.
func (ln *listener) acceptIn(l *loop) {
	for range acceptBatch {
		if ln.paused.Load() {
			return
		}
		ok, kind, wait := ln.p.admit(ln.gate)
		if !ok {
			ln.ctr.limits[kind].Add(1)
			ln.pauseFor(kind, wait)
			return
		}
		cfd := -1
		var err error
		if ln.raw.Control(func(fd uintptr) {
			for {
				cfd, err = rawAccept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
				if err != unix.EINTR && err != unix.ECONNABORTED {
					break
				}
			}
			if err == nil {
				ln.live.Add(1) // before close can see the socket shut
			}
		}) != nil {
			ln.p.unadmit(ln.gate)
			return
		}
		if err == unix.EAGAIN {
			ln.p.unadmit(ln.gate)
			return
		}
		if err != nil {
			// Out of fds, say: pause a little before trying again.
			ln.p.unadmit(ln.gate)
			ln.ctr.errs.Add(1)
			ln.p.log.Warn("accept", "route", ln.route.Name, "tenant", ln.tenant, "err", err)
			b := min(max(2*time.Duration(ln.backoff.Load()), time.Millisecond), time.Second)
			ln.backoff.Store(int64(b))
			ln.pauseFor(-1, b)
			return
		}
		ln.backoff.Store(0)
		ln.ctr.opened()
		startRelay(l, ln, cfd)
	}
}

// pause takes the listener out of the loops (or leaves it unarmed in the
// hub) until resume; false if it was paused or closed already.
func (ln *listener) pause() bool {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	if ln.closed || ln.paused.Load() {
		return false
	}
	ln.paused.Store(true)
	if ln.loops != nil {
		ln.raw.Control(func(fd uintptr) {
			for _, l := range ln.loops {
				l.removeListener(ln, int(fd))
			}
		})
	}
	return true
}

// resume undoes pause.
func (ln *listener) resume() {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	if ln.closed || !ln.paused.Load() {
		return
	}
	ln.paused.Store(false)
	switch {
	case ln.loops != nil:
		ln.raw.Control(func(fd uintptr) {
			for _, l := range ln.loops {
				if err := l.addListener(ln, int(fd)); err != nil {
					ln.p.log.Warn("resume listener", "route", ln.route.Name, "tenant", ln.tenant, "err", err)
				}
			}
		})
	case ln.hub != nil:
		if err := ln.hub.arm(ln); err != nil {
			ln.p.log.Warn("re-arm listener", "route", ln.route.Name, "tenant", ln.tenant, "err", err)
		}
	}
}

// hubConn is the socket's RawConn if the netpoller serves it (nil for the
// blocking-accept strategy's sockets, which wait in their own threads).
func hubConn(ln *listener) syscall.RawConn {
	if ln.raw != nil {
		return ln.raw
	}
	var c any = ln.sock.Listener
	if c == nil {
		c = ln.sock.Packet
	}
	switch c.(type) {
	case *net.TCPListener, *net.UDPConn:
	default:
		return nil
	}
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// fire runs on the hub's goroutine when the socket is ready: it starts the
// goroutine that takes what is there, unless the listener is closing.
func (ln *listener) fire() {
	ln.mu.Lock()
	if ln.closed {
		ln.mu.Unlock()
		return
	}
	ln.wg.Add(1)
	ln.mu.Unlock()
	if ln.sock.Stream() {
		go ln.acceptOne()
	} else {
		go ln.drainPackets()
	}
}

// arm asks the hub for the socket's next readiness.
func (ln *listener) arm() {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	if ln.closed {
		return
	}
	if err := ln.hub.arm(ln); err != nil {
		ln.p.log.Warn("re-arm listener", "route", ln.route.Name, "tenant", ln.tenant, "err", err)
	}
}

// acceptOne takes the connection the hub saw waiting, arms the listener for
// the next one and forwards this one. If another took it meanwhile, Accept
// waits for the next in the netpoller, as a listener's own goroutine would.
func (ln *listener) acceptOne() {
	defer ln.wg.Done()
	// A slot first: while none is free the listener stays unarmed and its
	// clients wait in the kernel's accept queue.
	if !ln.p.acquire(ln.gate, ln.done) {
		return
	}
	var c net.Conn
	var err error
	if ln.raw != nil {
		c, err = ln.raw.accept()
	} else {
		c, err = ln.sock.Listener.Accept()
	}
	if err != nil {
		ln.p.unadmit(ln.gate)
		if ln.isClosed() || errors.Is(err, net.ErrClosed) {
			return
		}
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.ECONNABORTED) {
			ln.arm() // taken meanwhile, or gone before it was accepted
			return
		}
		// Out of fds, say: wait a little before trying again.
		ln.ctr.errs.Add(1)
		ln.p.log.Warn("accept", "route", ln.route.Name, "tenant", ln.tenant, "err", err)
		b := min(max(2*time.Duration(ln.backoff.Load()), time.Millisecond), time.Second)
		ln.backoff.Store(int64(b))
		time.Sleep(b)
		ln.arm()
		return
	}
	defer ln.p.leave(ln.gate)
	ln.backoff.Store(0)
	ln.arm()
	if !ln.track(c) {
		c.Close()
		return
	}
	ln.ctr.opened()
	ln.handle(c)
}

// close closes the socket and every connection it made, waits, and lets
// go of its namespaces.
func (ln *listener) close() {
	ln.mu.Lock()
	if ln.closed {
		ln.mu.Unlock()
		return
	}
	ln.closed = true
	close(ln.done)
	conns := ln.conns
	ln.conns = nil
	if ln.hub != nil {
		ln.hub.remove(ln) // before the socket closes: its number may be reused
	}
	loops := ln.loops
	if loops != nil && !ln.paused.Load() {
		ln.raw.Control(func(fd uintptr) {
			for _, l := range loops {
				l.removeListener(ln, int(fd))
			}
		})
	}
	ln.mu.Unlock()
	ln.p.removeKey(ln)
	if ln.front != nil {
		ln.p.mu.Lock()
		if ln.p.fronts[ln.route.Name] == ln.front {
			delete(ln.p.fronts, ln.route.Name)
		}
		ln.p.mu.Unlock()
		ln.front.close()
	}
	if ln.raw != nil {
		if ln.lent != nil { // it may be what pins its namespace for a parked handle
			ln.lent.unpark(ln.raw)
		}
		ln.raw.shut() // waits for an accept or read in progress
	}
	// Every relay accepted before the shut is counted in live; each loop
	// closes its own (after what it is doing now, which may be setting one
	// of them up).
	if ln.live.Load() > 0 {
		for _, l := range loops {
			l.call(func() { l.closeRelays(ln) })
		}
	}
	ln.sock.Close()
	for c := range conns {
		c.Close()
	}
	ln.wg.Wait()
	ln.udp.closeAll()
	if t := ln.tgt.Swap(nil); t != nil {
		t.release()
	}
	ln.lent.release()
	ln.lent = nil
}

// track registers a connection to close with the listener; false if the
// listener is already closed (the caller closes c).
func (ln *listener) track(c net.Conn) bool {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	if ln.closed {
		return false
	}
	if ln.conns == nil { // made on first use: most listeners of a thousand idle
		ln.conns = map[net.Conn]struct{}{}
	}
	ln.conns[c] = struct{}{}
	return true
}

func (ln *listener) untrack(c net.Conn) {
	ln.mu.Lock()
	if ln.conns != nil {
		delete(ln.conns, c)
	}
	ln.mu.Unlock()
}

func (ln *listener) isClosed() bool {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	return ln.closed
}

// serveStream is the plain accept loop, for a listener the hub does not
// serve (the blocking-accept strategy's, whose point is to wait in
// accept(2) on a thread): accept, then forward on a goroutine of its own.
func (ln *listener) serveStream() {
	defer ln.wg.Done()
	l := ln.sock.Listener
	backoff := time.Millisecond
	for {
		c, err := l.Accept()
		if err != nil {
			if ln.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of fds, say: wait a little instead of spinning.
			ln.ctr.errs.Add(1)
			ln.p.log.Warn("accept", "route", ln.route.Name, "tenant", ln.tenant, "err", err)
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = time.Millisecond
		// The slot after the accept: this loop waits in accept(2), and
		// must not hold a slot while it does.
		if !ln.p.acquire(ln.gate, ln.done) {
			c.Close()
			return
		}
		if !ln.track(c) {
			ln.p.leave(ln.gate)
			c.Close()
			return
		}
		ln.ctr.opened()
		ln.wg.Add(1)
		go func() {
			defer ln.wg.Done()
			defer ln.p.leave(ln.gate)
			ln.handle(c)
		}()
	}
}

func (ln *listener) handle(c net.Conn) {
	defer ln.untrack(c)
	ln.ctr.active.Add(1)
	defer ln.ctr.active.Add(-1)
	ctx, cancel := context.WithTimeout(context.Background(), ln.p.conf().DialTimeout)
	up, err := ln.dial(ctx, ln.tnet, ln.taddr.String())
	cancel()
	if err != nil {
		ln.ctr.errs.Add(1)
		ln.p.log.Debug("dial upstream", "route", ln.route.Name, "tenant", ln.tenant, "err", err)
		c.Close()
		return
	}
	if !ln.track(up) {
		up.Close()
		c.Close()
		return
	}
	defer ln.untrack(up)
	in, out, ferr := forward(c, up, ln.p.conf().FinTimeout)
	ln.ctr.bytesIn.Add(uint64(in))
	ln.ctr.bytesOut.Add(uint64(out))
	if ferr != nil {
		ln.ctr.errs.Add(1)
	}
}

type closeWriter interface{ CloseWrite() error }

// forward copies both ways between client and upstream until both sides
// have finished. A side that reaches EOF is half-closed on the other
// (CloseWrite), so request/response protocols that shut down their sending
// side still get their answer; an error on either side closes both. Between
// two *net.TCPConn io.Copy uses splice(2): the bytes never enter user space.
// Once one side has finished, the other has fin (if > 0) to finish too; a
// side that hangs past it is an error, and both are closed.
func forward(client, up net.Conn, fin time.Duration) (in, out int64, err error) {
	errc := make(chan error, 1)
	go func() {
		n, err := copyConn(up, client)
		in = n
		if err == nil {
			if cw, ok := up.(closeWriter); ok {
				err = ignoreNotConn(cw.CloseWrite())
			}
			if fin > 0 {
				up.SetReadDeadline(time.Now().Add(fin))
			}
		}
		if err != nil {
			client.Close()
			up.Close()
		}
		errc <- err
	}()
	out, err2 := copyConn(client, up)
	if err2 == nil {
		if cw, ok := client.(closeWriter); ok {
			err2 = ignoreNotConn(cw.CloseWrite())
		}
		if fin > 0 {
			client.SetReadDeadline(time.Now().Add(fin))
		}
	}
	if err2 != nil {
		client.Close()
		up.Close()
	}
	err1 := <-errc
	client.Close()
	up.Close()
	if err1 != nil && !errors.Is(err1, net.ErrClosed) {
		return in, out, err1
	}
	if err2 != nil && !errors.Is(err2, net.ErrClosed) {
		return in, out, err2
	}
	return in, out, nil
}

func ignoreNotConn(err error) error {
	if err != nil && (errors.Is(err, net.ErrClosed) || isErrno(err, "ENOTCONN")) {
		return nil
	}
	return err
}
