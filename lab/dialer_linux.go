package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Dialer connects from inside a network namespace. Only socket(2) runs
// inside the switch (a socket's namespace is fixed when it is made); the
// connect then waits on the netpoller on the caller's goroutine, so a slow
// or silent peer holds no OS thread and no thread ever waits inside another
// namespace. Its DialContext fits net/http.Transport.DialContext.
//
// Addresses must be IP literals: a name lookup would run on another
// goroutine and read the files of this mount namespace, not the target's.
type Dialer struct {
	Netns   *Netns        // where the socket lives; nil: the current namespace
	Timeout time.Duration // for the connect; 0: none beyond the context's
	// KeepAlive is TCP keep-alive as in net.Dialer: 0 is Go's default
	// (15 s), negative turns it off (four setsockopt calls fewer).
	KeepAlive time.Duration
}

// Dial connects to address (IP:PORT) over network: tcp, tcp4, tcp6, udp,
// udp4, udp6, sctp, sctp4 or sctp6.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext is Dial with a context that bounds the connect.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	typ, proto, err := socketKind(network)
	if err != nil {
		return nil, err
	}
	if err := literalAddr(network, address); err != nil {
		return nil, err
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil, fmt.Errorf("dial %s %q: %w: give the IP to connect to, like 10.0.0.1:80", network, address, ErrInvalid)
	}
	if err := checkFamily(network, address); err != nil {
		return nil, err
	}
	if d.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Timeout)
		defer cancel()
	}
	sa, domain := sockaddrOf(ap)
	fd := -1
	var cerr error
	err = Do(d.Netns, func() error {
		var err error
		fd, err = unix.Socket(domain, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return os.NewSyscallError("socket", err)
		}
		if proto != unix.IPPROTO_SCTP {
			// Start the connect here: on a non-blocking socket it never
			// waits, and to a peer on this machine (loopback, a veth)
			// the kernel completes the handshake within the call. The
			// net package's own connect then finds the socket connected
			// (EISCONN) instead of parking the goroutine until the
			// netpoller reports it; a slower peer gives EALREADY there,
			// and the wait happens outside, as before.
			cerr = unix.Connect(fd, sa)
		}
		return nil
	})
	if err == nil && cerr != nil && cerr != unix.EINPROGRESS && cerr != unix.EINTR {
		unix.Close(fd)
		return nil, &net.OpError{Op: "dial", Net: network, Addr: rawAddr{network, ap}, Err: fmt.Errorf("from %s: %w", d.Netns, errnoKind(cerr))}
	}
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		if proto == unix.IPPROTO_SCTP && errors.Is(err, unix.EPROTONOSUPPORT) {
			return nil, fmt.Errorf("connect %s %s: this kernel has no SCTP: %w", network, address, errnoKind(unix.EPROTONOSUPPORT))
		}
		return nil, fmt.Errorf("connect %s %s from %s: %w", network, address, d.Netns, errnoKind(unwrapSyscall(err)))
	}
	var c net.Conn
	if proto == unix.IPPROTO_SCTP {
		c, err = connectFD(ctx, fd, sa, network, ap)
	} else {
		c, err = d.handOver(ctx, fd, network, address)
	}
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: rawAddr{network, ap}, Err: fmt.Errorf("from %s: %w", d.Netns, errnoKind(unwrapSyscall(err)))}
	}
	return c, nil
}

// handOver connects fd, a TCP or UDP socket made in d's namespace, through
// the net package, which returns a real *net.TCPConn or *net.UDPConn (so
// io.Copy between TCP connections splices). net.Dialer makes a socket of
// its own; its Control hook runs before the connect, and there dup3 puts
// fd in that descriptor's place (closing the net package's socket), so
// the net package connects, polls and wraps ours as if it had made it.
// Going through os.NewFile and net.FileConn instead cost 12 more system
// calls per dial (a dup, an epoll registration and removal, getsockopt,
// getsockname and getpeername again): ~40 µs on the proxy's hot path.
func (d *Dialer) handOver(ctx context.Context, fd int, network, address string) (net.Conn, error) {
	defer unix.Close(fd)
	nd := net.Dialer{KeepAlive: d.KeepAlive, Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		if cerr := rc.Control(func(their uintptr) { err = unix.Dup3(fd, int(their), unix.O_CLOEXEC) }); cerr != nil {
			return cerr
		}
		return os.NewSyscallError("dup3", err)
	}}
	c, err := nd.DialContext(ctx, network, address)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) {
			return nil, oe.Err
		}
		return nil, err
	}
	return c, nil
}

// socketKind maps a network name to a socket type and protocol.
func socketKind(network string) (typ, proto int, err error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
		return unix.SOCK_STREAM, unix.IPPROTO_TCP, nil
	case "udp", "udp4", "udp6":
		return unix.SOCK_DGRAM, unix.IPPROTO_UDP, nil
	case "sctp", "sctp4", "sctp6":
		return unix.SOCK_STREAM, unix.IPPROTO_SCTP, nil
	}
	return 0, 0, fmt.Errorf("unknown network %q: %w: use tcp, udp or sctp (optionally with 4 or 6)", network, ErrInvalid)
}

// connectFD connects the non-blocking socket fd (which it takes) and wraps
// it as a net.Conn: *net.TCPConn / *net.UDPConn for TCP and UDP (so io.Copy
// can splice), a raw-fd conn for SCTP. It waits on the netpoller.
func connectFD(ctx context.Context, fd int, sa unix.Sockaddr, network string, remote netip.AddrPort) (net.Conn, error) {
	cerr := unix.Connect(fd, sa)
	for cerr == unix.EINTR {
		cerr = unix.Connect(fd, sa)
	}
	if cerr != nil && cerr != unix.EINPROGRESS && cerr != unix.EALREADY {
		unix.Close(fd)
		return nil, os.NewSyscallError("connect", cerr)
	}
	f := os.NewFile(uintptr(fd), network+":"+remote.String())
	if cerr != nil { // in progress: wait for writability on epoll
		if err := waitConnected(ctx, f); err != nil {
			f.Close()
			return nil, err
		}
	}
	if proto, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PROTOCOL); proto == unix.IPPROTO_SCTP {
		lsa, _ := unix.Getsockname(fd)
		return newRawConn(f, network, addrPortOf(lsa), remote), nil
	}
	c, err := net.FileConn(f) // a dup the net package owns
	f.Close()
	return c, err
}

func waitConnected(ctx context.Context, f *os.File) error {
	if dl, ok := ctx.Deadline(); ok {
		f.SetWriteDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	werr := rc.Write(func(fd uintptr) bool {
		v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			serr = os.NewSyscallError("getsockopt", err)
			return true
		}
		switch e := unix.Errno(v); e {
		case 0:
			// Writable, or not yet polled: only a peer name proves it.
			if _, err := unix.Getpeername(int(fd)); err == nil {
				serr = nil
				return true
			}
			return false
		case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
			return false
		default:
			serr = os.NewSyscallError("connect", e)
			return true
		}
	})
	if werr != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(werr, os.ErrDeadlineExceeded) {
			return context.DeadlineExceeded
		}
		return werr
	}
	f.SetWriteDeadline(time.Time{})
	return serr
}
