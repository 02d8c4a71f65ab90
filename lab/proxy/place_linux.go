package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
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
// for all of a tenant's sockets) and per dial (only socket(2) inside);
// the netpoller serves everything.
type sharedPlace struct {
	ns      *lab.Netns // nil: this process's namespace
	timeout time.Duration
}

func (s *sharedPlace) bind(socks []lab.Socket) error { return lab.BindIn(s.ns, socks) }

func (s *sharedPlace) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	// No keep-alive upstream (as HAProxy without tcpka): the client's side
	// and fin_timeout end dead connections, and it saves four setsockopt
	// calls per connection.
	d := lab.Dialer{Netns: s.ns, Timeout: s.timeout, KeepAlive: -1}
	return d.DialContext(ctx, network, addr)
}

func (s *sharedPlace) close() {}

// threadPlace is thread-per-namespace: a goroutine locks its OS thread,
// enters the namespace and never leaves it. Everything namespace-bound for
// that namespace runs on it: binds, and dials, whose connect holds the
// thread while it waits, as straightforward code would. When the place
// closes, the goroutine exits still locked and the runtime ends the thread.
type threadPlace struct {
	timeout time.Duration
	mu      sync.Mutex
	reqs    chan func()
	closed  bool
}

func newThreadPlace(ns *lab.Netns, timeout time.Duration) (*threadPlace, error) {
	tp := &threadPlace{timeout: timeout, reqs: make(chan func())}
	errc := make(chan error, 1)
	lab.GoLocked(func() { // it never comes back: not on the main thread
		if err := unix.Setns(ns.Fd(), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread() // never left: the thread is clean
			errc <- fmt.Errorf("enter %s: %w", ns, err)
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
		d := lab.Dialer{Timeout: tp.timeout, KeepAlive: -1}
		c, err = d.DialContext(ctx, network, addr)
	}); rerr != nil {
		return nil, rerr
	}
	return c, err
}

func (tp *threadPlace) close() {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if !tp.closed {
		tp.closed = true
		close(tp.reqs)
	}
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
	err := lab.Do(b.ns, func() error {
		for i, s := range socks {
			fd, err := blockingSocket(s.Network, s.Addr)
			if err != nil {
				return fmt.Errorf("listen %s %s: %w", s.Network, s.Addr, err)
			}
			fds[i] = fd
		}
		return nil
	})
	if err != nil {
		for _, fd := range fds {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
		return fmt.Errorf("bind in %s: %w", b.ns, err)
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
