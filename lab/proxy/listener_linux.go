package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
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
}

func (c *counters) snapshot() RouteStats {
	return RouteStats{
		Route: c.route, Tenant: c.tenant, Listen: c.listen, Target: c.target,
		Conns: c.conns.Load(), Active: c.active.Load(), BytesIn: c.bytesIn.Load(),
		BytesOut: c.bytesOut.Load(), Errors: c.errs.Load(),
	}
}

// listener is one bound socket of a route and everything it serves.
type listener struct {
	p      *Proxy
	route  *Route
	tenant string
	key    ListenerKey
	sock   lab.Socket
	target Endpoint
	dial   dialFunc
	ctr    *counters

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // open client and upstream connections
	closed bool
	done   chan struct{} // closed by close: stops a wait for a connection slot
	wg     sync.WaitGroup
	front  *httpFront
	udp    udpSessions

	// Served by the proxy's hub (nil: by a goroutine of its own).
	hub     *hub
	hubID   int32
	hubRC   syscall.RawConn
	raw     *rawConn     // the socket, if made raw (lab.Socket.Raw): the hub's alone
	backoff atomic.Int64 // ns to wait after a failed accept (hub goroutines)
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

// start serves the socket on its own goroutine.
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
	select {
	case ln.p.slots <- struct{}{}:
	case <-ln.done:
		return
	}
	defer func() { <-ln.p.slots }()
	var c net.Conn
	var err error
	if ln.raw != nil {
		c, err = ln.raw.accept()
	} else {
		c, err = ln.sock.Listener.Accept()
	}
	if err != nil {
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
	ln.backoff.Store(0)
	ln.arm()
	if !ln.track(c) {
		c.Close()
		return
	}
	ln.ctr.conns.Add(1)
	ln.handle(c)
}

// close closes the socket and every connection it made, and waits.
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
		ln.raw.shut() // waits for an accept or read in progress
	}
	ln.sock.Close()
	for c := range conns {
		c.Close()
	}
	ln.wg.Wait()
	ln.udp.closeAll()
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
		select {
		case ln.p.slots <- struct{}{}:
		case <-ln.done:
			c.Close()
			return
		}
		if !ln.track(c) {
			<-ln.p.slots
			c.Close()
			return
		}
		ln.ctr.conns.Add(1)
		ln.wg.Add(1)
		go func() {
			defer ln.wg.Done()
			defer func() { <-ln.p.slots }()
			ln.handle(c)
		}()
	}
}

func (ln *listener) handle(c net.Conn) {
	defer ln.untrack(c)
	ln.ctr.active.Add(1)
	defer ln.ctr.active.Add(-1)
	ctx, cancel := context.WithTimeout(context.Background(), ln.p.cfg.DialTimeout)
	up, err := ln.dial(ctx, ln.target.Proto, ln.target.Addr.String())
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
	in, out, ferr := forward(c, up, ln.p.cfg.FinTimeout)
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
