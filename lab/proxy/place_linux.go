package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lab"
)

// place is how a strategy makes sockets in one namespace: bind listeners
// and dial upstream connections there.
type place interface {
	bind(socks []lab.Socket) error
	dial(ctx context.Context, network, addr string) (net.Conn, error)
	close()
}

// sharedPlace is the shared strategy: a short locked switch per bind (one
// for all of a tenant's sockets) and per dial (only socket(2) and the
// start of connect(2) inside); the netpoller and the event loops serve
// everything.
//
// Its gate makes close wait for the dials in flight: once closed, no
// socket is made in its namespace any more, and the handle may go.
type sharedPlace struct {
	p      *Proxy
	ent    *nsEntry // its namespace (see nsEntry.with)
	gate   sync.RWMutex
	closed bool // under gate
}

var errPlaceClosed = errors.New("the namespace's tenant or route was removed")

func (s *sharedPlace) bind(socks []lab.Socket) error {
	return s.ent.with(func(ns *lab.Netns) error { return lab.BindIn(ns, socks) })
}

// startConnect makes an upstream socket in the namespace and starts its
// connect, on the calling goroutine's thread (an event loop's: see
// lab.DoInline). No keep-alive upstream (as HAProxy without tcpka): the
// client's side and fin_timeout end dead connections.
func (s *sharedPlace) startConnect(network string, ap netip.AddrPort) (int, bool, error) {
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.closed {
		return -1, false, errPlaceClosed
	}
	fd, done := -1, false
	err := s.ent.with(func(ns *lab.Netns) error {
		d := lab.Dialer{Netns: ns, KeepAlive: -1, Inline: true}
		var err error
		fd, done, err = d.StartConnect(network, ap)
		return err
	})
	return fd, done, err
}

func (s *sharedPlace) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s %q: want IP:PORT", network, addr)
	}
	d := lab.Dialer{Timeout: s.p.conf().DialTimeout, KeepAlive: -1}
	s.gate.RLock()
	if s.closed {
		s.gate.RUnlock()
		return nil, errPlaceClosed
	}
	fd, done := -1, false
	err = s.ent.with(func(ns *lab.Netns) error {
		d.Netns = ns
		var err error
		fd, done, err = d.StartConnect(network, ap)
		return err
	})
	s.gate.RUnlock()
	if err != nil {
		return nil, err
	}
	return d.Finish(ctx, network, ap, fd, done)
}

func (s *sharedPlace) close() {
	s.gate.Lock()
	s.closed = true
	s.gate.Unlock()
}

// startConnect is a dial from the entry's namespace for an event loop:
// only the shared strategy's places have one.
func (e *nsEntry) startConnect(network string, ap netip.AddrPort) (int, bool, error) {
	sp, ok := e.pl.(*sharedPlace)
	if !ok {
		return -1, false, fmt.Errorf("%s is not served by the shared strategy", e.label())
	}
	return sp.startConnect(network, ap)
}

// threadPlace is thread-per-namespace: a goroutine locks its OS thread,
// enters the namespace and never leaves it. Everything namespace-bound for
// that namespace runs on it: binds, and dials, whose connect holds the
// thread while it waits, as straightforward code would. When the place
// closes, the goroutine exits still locked and the runtime ends the thread.
type threadPlace struct {
	p      *Proxy
	mu     sync.Mutex
	reqs   chan func()
	closed bool
	exited chan struct{} // the thread's goroutine has finished every request
}

func newThreadPlace(p *Proxy, ns *lab.Netns) (*threadPlace, error) {
	tp := &threadPlace{p: p, reqs: make(chan func()), exited: make(chan struct{})}
	errc := make(chan error, 1)
	lab.GoLocked(func() { // it never comes back: not on the main thread
		defer close(tp.exited)
		if err := ns.Enter(); err != nil {
			runtime.UnlockOSThread() // never left: the thread is clean
			errc <- err
			return
		}
		errc <- nil
		for f := range tp.reqs {
			f()
		}
		// Return locked: the thread is in the tenant namespace and must
		// not run anything else.
	})
	if err := <-errc; err != nil {
		return nil, err
	}
	return tp, nil
}

// run executes f on the namespace's thread and waits for it.
func (tp *threadPlace) run(f func()) error {
	done := make(chan struct{})
	tp.mu.Lock()
	if tp.closed {
		tp.mu.Unlock()
		return errors.New("namespace thread is gone")
	}
	tp.reqs <- func() { f(); close(done) }
	tp.mu.Unlock()
	<-done
	return nil
}

func (tp *threadPlace) bind(socks []lab.Socket) error {
	var err error
	if rerr := tp.run(func() { err = lab.BindIn(nil, socks) }); rerr != nil {
		return rerr
	}
	return err
}

func (tp *threadPlace) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	var err error
	if rerr := tp.run(func() {
		d := lab.Dialer{Timeout: tp.p.conf().DialTimeout, KeepAlive: -1}
		c, err = d.DialContext(ctx, network, addr)
	}); rerr != nil {
		return nil, rerr
	}
	return c, err
}

// close ends the namespace's thread once the requests in flight are done,
// and waits for it.
func (tp *threadPlace) close() {
	tp.mu.Lock()
	if !tp.closed {
		tp.closed = true
		close(tp.reqs)
	}
	tp.mu.Unlock()
	<-tp.exited
}

// blockingPlace binds like shared but with blocking sockets, and waits for
// each connection in a blocking accept(2) (recvfrom(2) for UDP): the
// goroutine blocks in the kernel, so every waiting listener holds a thread.
// Accepted connections go to the netpoller.
type blockingPlace struct{ sharedPlace }

func (b *blockingPlace) bind(socks []lab.Socket) error {
	fds := make([]int, len(socks))
	for i := range fds {
		fds[i] = -1
	}
	err := b.ent.with(func(ns *lab.Netns) error {
		return lab.Do(ns, func() error {
			for i, s := range socks {
				fd, err := blockingSocket(s.Network, s.Addr)
				if err != nil {
					return fmt.Errorf("listen %s %s: %w", s.Network, s.Addr, err)
				}
				fds[i] = fd
			}
			return nil
		})
	})
	if err != nil {
		for _, fd := range fds {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
		return fmt.Errorf("bind in %s: %w", b.ent.label(), err)
	}
	for i := range socks {
		bs := &blockingSock{fd: fds[i], network: socks[i].Network}
		sa, _ := unix.Getsockname(bs.fd)
		bs.addr = sockaddrToNet(socks[i].Network, sa)
		if socks[i].Stream() {
			socks[i].Listener = &blockingListener{bs}
		} else {
			socks[i].Packet = &blockingPacket{bs}
		}
	}
	return nil
}

// blockingSocket makes a blocking socket, bound (and listening for stream
// networks), in the calling thread's namespace.
func blockingSocket(network, addr string) (int, error) {
	ap, err := parseAddrPort(addr)
	if err != nil {
		return -1, err
	}
	typ, proto := unix.SOCK_STREAM, unix.IPPROTO_TCP
	switch protoKind(network) {
	case "packet":
		typ, proto = unix.SOCK_DGRAM, unix.IPPROTO_UDP
	}
	if len(network) >= 4 && network[:4] == "sctp" {
		proto = unix.IPPROTO_SCTP
	}
	sa, domain := toSockaddr(ap)
	fd, err := unix.Socket(domain, typ|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return -1, err
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if typ == unix.SOCK_STREAM {
		if err := unix.Listen(fd, 4096); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	return fd, nil
}

// blockingSock is a blocking fd shared by the blocking listener types.
// Close shuts the socket down first, which wakes a thread blocked in
// accept(2) or recvfrom(2) (closing alone would not), then waits for it to
// leave before closing the fd, so the number is never reused under it.
type blockingSock struct {
	fd      int
	network string
	addr    net.Addr
	rw      sync.RWMutex // readers: threads inside a blocking call
	closed  atomic.Bool
	once    sync.Once
}

func (b *blockingSock) enter() bool {
	b.rw.RLock()
	if b.closed.Load() {
		b.rw.RUnlock()
		return false
	}
	return true
}

func (b *blockingSock) Close() error {
	b.once.Do(func() {
		b.closed.Store(true)
		unix.Shutdown(b.fd, unix.SHUT_RDWR)
		b.rw.Lock()
		unix.Close(b.fd)
		b.rw.Unlock()
	})
	return nil
}

type blockingListener struct{ *blockingSock }

func (l *blockingListener) Addr() net.Addr { return l.addr }

// Accept blocks its thread in accept(2).
func (l *blockingListener) Accept() (net.Conn, error) {
	for {
		if !l.enter() {
			return nil, net.ErrClosed
		}
		nfd, _, err := unix.Accept4(l.fd, unix.SOCK_CLOEXEC)
		l.rw.RUnlock()
		if err == unix.EINTR || err == unix.ECONNABORTED {
			continue
		}
		if err != nil {
			if l.closed.Load() {
				return nil, net.ErrClosed
			}
			return nil, &net.OpError{Op: "accept", Net: l.network, Addr: l.addr, Err: err}
		}
		return fdConn(nfd)
	}
}

type blockingPacket struct{ *blockingSock }

func (c *blockingPacket) LocalAddr() net.Addr { return c.addr }

// ReadFrom blocks its thread in recvfrom(2).
func (c *blockingPacket) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		if !c.enter() {
			return 0, nil, net.ErrClosed
		}
		n, sa, err := unix.Recvfrom(c.fd, b, 0)
		c.rw.RUnlock()
		if err == unix.EINTR {
			continue
		}
		if err != nil || sa == nil {
			if c.closed.Load() {
				return 0, nil, net.ErrClosed
			}
			if err == nil {
				continue
			}
			return 0, nil, &net.OpError{Op: "read", Net: c.network, Addr: c.addr, Err: err}
		}
		return n, sockaddrToNet(c.network, sa), nil
	}
}

func (c *blockingPacket) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("write to %v: not a UDP address", addr)
	}
	if !c.enter() {
		return 0, net.ErrClosed
	}
	defer c.rw.RUnlock()
	sa, _ := toSockaddr(ua.AddrPort())
	if err := unix.Sendto(c.fd, b, 0, sa); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (c *blockingPacket) SetDeadline(time.Time) error      { return nil }
func (c *blockingPacket) SetReadDeadline(time.Time) error  { return nil }
func (c *blockingPacket) SetWriteDeadline(time.Time) error { return nil }

func isErrno(err error, name string) bool {
	var en syscall.Errno
	if !errors.As(err, &en) {
		return false
	}
	switch name {
	case "ENOTCONN":
		return en == syscall.ENOTCONN
	}
	return false
}
