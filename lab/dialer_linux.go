package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Dialer connects from inside a network namespace. Only socket(2) and the
// start of connect(2) run inside the switch (a socket's namespace is fixed
// when it is made); a connect that does not finish at once waits on the
// netpoller on the caller's goroutine, so a slow or silent peer holds no
// OS thread and no thread ever waits inside another namespace. Its
// DialContext fits net/http.Transport.DialContext.
//
// Addresses must be IP literals: a name lookup would run on another
// goroutine and read the files of this mount namespace, not the target's.
type Dialer struct {
	Netns   *Netns        // where the socket lives; nil: the current namespace
	Timeout time.Duration // for the connect; 0: none beyond the context's
	// KeepAlive is TCP keep-alive as in net.Dialer: 0 is Go's default
	// (15 s), negative turns it off (four setsockopt calls fewer).
	KeepAlive time.Duration
	// Inline switches on the calling goroutine (DoInline) instead of a
	// fresh one (Do): ~10 µs less per dial, with DoInline's contract.
	Inline bool
}

// Dial connects to address (IP:PORT) over network: tcp, tcp4, tcp6, udp,
// udp4, udp6, sctp, sctp4 or sctp6.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext is Dial with a context that bounds the connect. TCP and UDP
// connections are a *net.TCPConn or *net.UDPConn (so io.Copy between two
// of them splices), SCTP ones a connection over the raw descriptor.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	ap, err := dialAddr(network, address)
	if err != nil {
		return nil, err
	}
	if d.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Timeout)
		defer cancel()
	}
	fd, done, err := d.StartConnect(network, ap)
	if err != nil {
		return nil, err
	}
	return d.Finish(ctx, network, ap, fd, done)
}

// Finish is the rest of a dial that StartConnect began: it waits (on the
// netpoller, bounded by ctx) for the connect if it is still in progress,
// and wraps fd, which it takes, as DialContext's connection.
func (d *Dialer) Finish(ctx context.Context, network string, ap netip.AddrPort, fd int, done bool) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), network+":"+ap.String()) // non-blocking: in the netpoller
	if !done {
		if err := waitConnected(ctx, f); err != nil {
			f.Close()
			return nil, &net.OpError{Op: "dial", Net: network, Addr: rawAddr{network, ap}, Err: fmt.Errorf("from %s: %w", d.Netns, errnoKind(unwrapSyscall(err)))}
		}
	}
	if _, proto, _ := socketKind(network); proto == unix.IPPROTO_SCTP {
		lsa, _ := unix.Getsockname(fd)
		return newRawConn(f, network, addrPortOf(lsa), ap), nil
	}
	// The net package's own copy of the socket (a dup, non-blocking, in
	// the netpoller). The proxy's forwarding path never comes here: it
	// keeps the bare descriptor from StartConnect.
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("dial %s %s: %w", network, ap, err)
	}
	if tc, ok := c.(*net.TCPConn); ok { // what net.Dial sets
		tc.SetNoDelay(true)
		if d.KeepAlive >= 0 {
			tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: d.KeepAlive, Interval: d.KeepAlive})
		}
	}
	return c, nil
}

// dialAddr checks a dial's network and address: an IP literal and port,
// of the family the network asks for.
func dialAddr(network, address string) (netip.AddrPort, error) {
	if _, _, err := socketKind(network); err != nil {
		return netip.AddrPort{}, err
	}
	if err := literalAddr(network, address); err != nil {
		return netip.AddrPort{}, err
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("dial %s %q: %w: give the IP to connect to, like 10.0.0.1:80", network, address, ErrInvalid)
	}
	if err := checkFamily(network, address); err != nil {
		return netip.AddrPort{}, err
	}
	return ap, nil
}

// StartConnect makes a non-blocking socket of network inside the dialer's
// namespace and starts connecting it to ap: the whole of a dial that runs
// inside the switch. To a peer on this machine (loopback, a veth) the
// kernel completes a TCP handshake within the call, and done is true; a
// slower peer leaves the connect in progress (done false): the caller
// waits for the descriptor to be writable and reads SO_ERROR, as a
// non-blocking connect is finished anywhere. The caller owns fd.
//
// An IPv6 zone (fe80::1%eth0) is looked up inside the namespace, where the
// interface is. An SCTP socket is only made inside; its connect starts
// after the switch (an SCTP handshake is not finished within the call).
func (d *Dialer) StartConnect(network string, ap netip.AddrPort) (fd int, done bool, err error) {
	typ, proto, err := socketKind(network)
	if err != nil {
		return -1, false, err
	}
	do, socket, connect := Do, unix.Socket, unix.Connect
	if d.Inline {
		do, socket, connect = DoInline, sysSocket, rawConnect
	}
	fd = -1
	var cerr error
	var sa unix.Sockaddr
	err = do(d.Netns, func() error {
		var domain int
		if sa, domain, err = sockaddrIn(ap); err != nil {
			return err
		}
		fd, err = socket(domain, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return os.NewSyscallError("socket", err)
		}
		if proto != unix.IPPROTO_SCTP {
			cerr = connect(fd, sa)
		}
		return nil
	})
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		if proto == unix.IPPROTO_SCTP && errors.Is(err, unix.EPROTONOSUPPORT) {
			return -1, false, fmt.Errorf("connect %s %s: this kernel has no SCTP: %w", network, ap, errnoKind(unix.EPROTONOSUPPORT))
		}
		return -1, false, fmt.Errorf("connect %s %s from %s: %w", network, ap, d.Netns, errnoKind(unwrapSyscall(err)))
	}
	if proto == unix.IPPROTO_SCTP {
		for cerr = unix.Connect(fd, sa); cerr == unix.EINTR; cerr = unix.Connect(fd, sa) {
		}
	}
	switch cerr {
	case nil:
		return fd, true, nil
	case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
		if proto == unix.IPPROTO_TCP {
			// To a peer on this machine (loopback, a veth) the kernel
			// has usually finished the handshake by the time connect
			// returns EINPROGRESS: asking again says so (0, or EISCONN),
			// and the caller need not wait for writability (one system call
			// instead of a registration and a wake-up).
			switch again := connect(fd, sa); again {
			case nil, unix.EISCONN: // connected now (nil), or already
				return fd, true, nil
			case unix.EALREADY, unix.EINPROGRESS, unix.EINTR:
			default: // refused meanwhile: the error is this answer's now
				cerr = again
				unix.Close(fd)
				return -1, false, &net.OpError{Op: "dial", Net: network, Addr: rawAddr{network, ap}, Err: fmt.Errorf("from %s: %w", d.Netns, errnoKind(cerr))}
			}
		}
		return fd, false, nil
	}
	unix.Close(fd)
	return -1, false, &net.OpError{Op: "dial", Net: network, Addr: rawAddr{network, ap}, Err: fmt.Errorf("from %s: %w", d.Netns, errnoKind(cerr))}
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

// waitConnected waits on the netpoller until the non-blocking connect of
// f's socket has finished, and returns its outcome.
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
