package lab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The raw-fd path: a socket made with socket(2) inside a namespace, set
// non-blocking, and handed to the Go netpoller through os.NewFile. It serves
// protocols the net package does not know (SCTP) the same way net.Listen
// serves TCP: a goroutine waiting in Accept parks on epoll and holds no OS
// thread. The path is generic (domain, type, protocol) so tests can run it
// with TCP on kernels without SCTP.

// sockaddrIn converts an IP:PORT into a socket address and its family. An
// IPv6 zone (%eth0) is an interface of the calling thread's namespace: call
// it inside the switch, where the socket will be made. A numeric zone
// (%3) is taken as the interface index.
func sockaddrIn(ap netip.AddrPort) (unix.Sockaddr, int, error) {
	if ap.Addr().Is4() || ap.Addr().Is4In6() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}, unix.AF_INET, nil
	}
	zone, err := zoneIndex(ap.Addr().Zone())
	if err != nil {
		return nil, 0, err
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16(), ZoneId: zone}, unix.AF_INET6, nil
}

// zoneIndex is the index of the interface an IPv6 zone names, looked up in
// the calling thread's namespace (a netlink dump: no goroutine, and not
// the net package's zone cache, which is shared by every namespace the
// process has been in).
func zoneIndex(zone string) (uint32, error) {
	if zone == "" {
		return 0, nil
	}
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n), nil
	}
	ifi, err := net.InterfaceByName(zone)
	if err != nil {
		return 0, fmt.Errorf("IPv6 zone %%%s: no interface %s in this namespace: %w", zone, zone, ErrNotFound)
	}
	return uint32(ifi.Index), nil
}

// numericZone rewrites an IP:PORT whose IPv6 zone is an interface name to
// the interface's index, looked up in the calling thread's namespace, for
// the net package (see zoneIndex). Other addresses are returned as given.
func numericZone(addr string) (string, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || ap.Addr().Zone() == "" {
		return addr, nil
	}
	idx, err := zoneIndex(ap.Addr().Zone())
	if err != nil {
		return "", err
	}
	return netip.AddrPortFrom(ap.Addr().WithZone(strconv.FormatUint(uint64(idx), 10)), ap.Port()).String(), nil
}

// addrPortOf converts a socket address back (nil for unknown families).
func addrPortOf(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	return netip.AddrPort{}
}

// rawAddr is the net.Addr of a raw-fd socket: its network name (sctp, tcp)
// and IP:PORT.
type rawAddr struct {
	network string
	ap      netip.AddrPort
}

func (a rawAddr) Network() string { return a.network }
func (a rawAddr) String() string  { return a.ap.String() }

// rawSocket makes, binds and (for listeners) listens on a socket in the
// calling thread's namespace. It runs inside Do: one socket(2), setsockopt,
// bind(2), listen(2), no goroutines. nonblock chooses the fd's mode.
func rawSocket(typ, proto int, ap netip.AddrPort, listen, nonblock bool) (int, error) {
	sa, domain, err := sockaddrIn(ap)
	if err != nil {
		return -1, err
	}
	flags := unix.SOCK_CLOEXEC
	if nonblock {
		flags |= unix.SOCK_NONBLOCK
	}
	fd, err := unix.Socket(domain, typ|flags, proto)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("setsockopt", err)
	}
	if domain == unix.AF_INET6 && ap.Addr().IsUnspecified() {
		unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("bind", err)
	}
	if listen {
		if err := unix.Listen(fd, listenBacklog()); err != nil {
			unix.Close(fd)
			return -1, os.NewSyscallError("listen", err)
		}
	}
	return fd, nil
}

// rawBindable reports whether a Socket{Raw: true} of network at addr can be
// made by hand: TCP or UDP, an IP literal without a zone, of the family
// the network asks for. Anything else goes the net package's way, which
// knows the rest (":8080", zones, errors worded as Listen words them).
func rawBindable(network, addr string) bool {
	switch network {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
	default:
		return false
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || ap.Addr().Zone() != "" {
		return false
	}
	switch network[len(network)-1] {
	case '4':
		return ap.Addr().Unmap().Is4()
	case '6':
		return ap.Addr().Is6() && !ap.Addr().Is4In6()
	}
	return true
}

// rawListenSocket makes a non-blocking TCP listener or UDP socket bound to
// addr (checked by rawBindable) with the options net.Listen would set:
// SO_REUSEADDR on TCP (rebinding over TIME_WAIT), and on IPv6 sockets
// IPV6_V6ONLY for tcp6/udp6 only, so that "tcp" on [::] is dual-stack.
// Three or four system calls, nothing registered with the netpoller.
func rawListenSocket(network string, typ int, addr string) (int, error) {
	ap := netip.MustParseAddrPort(addr)
	sa, domain, err := sockaddrIn(ap)
	if err != nil {
		return -1, err
	}
	fd, err := unix.Socket(domain, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	fail := func(call string, err error) (int, error) {
		unix.Close(fd)
		return -1, os.NewSyscallError(call, err)
	}
	if typ == unix.SOCK_STREAM {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return fail("setsockopt", err)
		}
	}
	if domain == unix.AF_INET6 {
		v6only := 0
		if network[len(network)-1] == '6' {
			v6only = 1
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
			return fail("setsockopt", err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if typ == unix.SOCK_STREAM {
		if err := unix.Listen(fd, listenBacklog()); err != nil {
			return fail("listen", err)
		}
	}
	return fd, nil
}

// listenBacklog is the kernel's somaxconn, as net.Listen uses, read once.
var listenBacklog = sync.OnceValue(readBacklog)

func readBacklog() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return 4096
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	if n <= 0 {
		return 4096
	}
	return n
}

// ListenRawTCPIn listens on TCP through the raw-fd path that SCTP takes
// (socket, bind and listen by hand, a non-blocking fd wrapped for the
// netpoller), so that path can be shown and tested on a kernel without
// SCTP. network is tcp, tcp4 or tcp6.
func ListenRawTCPIn(ns *Netns, network, addr string) (net.Listener, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("listen %s: the raw path here is for tcp, tcp4 or tcp6, not %q: %w", addr, network, ErrInvalid)
	}
	return listenRawIn(ns, network, unix.SOCK_STREAM, unix.IPPROTO_TCP, addr)
}

// listenRawIn creates a listening socket of (typ, proto) at addr inside ns
// and serves it with the netpoller. The switch is held only for socket,
// bind and listen; the fd is wrapped on the caller's goroutine.
func listenRawIn(ns *Netns, network string, typ, proto int, addr string) (net.Listener, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%s address %q: %w: want IP:PORT, like 127.0.0.1:8080 or [::1]:8080", network, addr, ErrInvalid)
	}
	fd := -1
	err = Do(ns, func() error {
		var err error
		fd, err = rawSocket(typ, proto, ap, true, true)
		return err
	})
	if err != nil {
		if fd >= 0 { // made, but the thread could not come back: drop it
			unix.Close(fd)
		}
		return nil, fmt.Errorf("listen %s %s in %s: %w", network, addr, ns, errnoKind(unwrapSyscall(err)))
	}
	return newRawListener(fd, network)
}

// newRawListener wraps a non-blocking listening fd. It takes the fd.
func newRawListener(fd int, network string) (*rawListener, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("getsockname: %w", err)
	}
	addr := rawAddr{network, addrPortOf(sa)}
	f := os.NewFile(uintptr(fd), network+":"+addr.String())
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &rawListener{f: f, rc: rc, addr: addr}, nil
}

// rawListener is a net.Listener over a non-blocking socket fd, served by the
// netpoller: Accept parks its goroutine until the fd is readable.
type rawListener struct {
	f    *os.File
	rc   syscall.RawConn
	addr rawAddr
	// closed turns the poller's "use of closed file" into net.ErrClosed,
	// which accept loops test for.
	closed atomic.Bool
}

func (l *rawListener) Addr() net.Addr { return l.addr }

func (l *rawListener) Close() error {
	l.closed.Store(true)
	if err := l.f.Close(); err != nil {
		return &net.OpError{Op: "close", Net: l.addr.network, Addr: l.addr, Err: net.ErrClosed}
	}
	return nil
}

// Accept waits (on epoll, not on a thread) for a connection and returns it
// as a net.Conn whose reads and writes also go through the netpoller.
func (l *rawListener) Accept() (net.Conn, error) {
	var nfd int
	var sa unix.Sockaddr
	var aerr error
	err := l.rc.Read(func(fd uintptr) bool {
		for {
			nfd, sa, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			switch aerr {
			case unix.EINTR, unix.ECONNABORTED:
				continue
			case unix.EAGAIN:
				return false // wait for readability
			}
			return true
		}
	})
	if err == nil {
		err = aerr
	}
	if err != nil {
		if l.closed.Load() || errors.Is(err, os.ErrClosed) {
			err = net.ErrClosed
		}
		return nil, &net.OpError{Op: "accept", Net: l.addr.network, Addr: l.addr, Err: err}
	}
	lsa, _ := unix.Getsockname(nfd)
	f := os.NewFile(uintptr(nfd), l.addr.network+":"+addrPortOf(sa).String())
	return newRawConn(f, l.addr.network, addrPortOf(lsa), addrPortOf(sa)), nil
}

// SyscallConn gives access to the listening fd (to read its namespace with
// SIOCGSKNS, say), as *net.TCPListener does.
func (l *rawListener) SyscallConn() (syscall.RawConn, error) { return l.rc, nil }

// rawConn is a connected non-blocking socket as a net.Conn. *os.File gives
// it poller-backed Read, Write, Close and deadlines.
type rawConn struct {
	*os.File
	laddr, raddr rawAddr
}

// newRawConn takes f, a connected non-blocking socket.
func newRawConn(f *os.File, network string, local, remote netip.AddrPort) *rawConn {
	return &rawConn{File: f, laddr: rawAddr{network, local}, raddr: rawAddr{network, remote}}
}

func (c *rawConn) LocalAddr() net.Addr  { return c.laddr }
func (c *rawConn) RemoteAddr() net.Addr { return c.raddr }

// CloseWrite shuts down the sending side (a half-close), as TCPConn does.
func (c *rawConn) CloseWrite() error { return c.shutdown(unix.SHUT_WR) }

// CloseRead shuts down the receiving side.
func (c *rawConn) CloseRead() error { return c.shutdown(unix.SHUT_RD) }

func (c *rawConn) shutdown(how int) error {
	rc, err := c.File.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Shutdown(int(fd), how) }); err != nil {
		return err
	}
	return serr
}

// SetDeadline and friends come from *os.File; net.Conn wants them by name.
func (c *rawConn) SetDeadline(t time.Time) error      { return c.File.SetDeadline(t) }
func (c *rawConn) SetReadDeadline(t time.Time) error  { return c.File.SetReadDeadline(t) }
func (c *rawConn) SetWriteDeadline(t time.Time) error { return c.File.SetWriteDeadline(t) }
