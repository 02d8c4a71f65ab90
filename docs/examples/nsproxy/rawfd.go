//go:build linux

package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// rawListener is a listener made by hand, as SCTP needs (the standard
// library has none): a non-blocking fd in an *os.File, which registers it
// with the netpoller. Accept waits through the file's syscall.RawConn: when
// accept4(2) says EAGAIN, the goroutine parks and its thread runs others.
// A blocking accept loop, as SCTP libraries offer, would hold a thread per
// listener instead.
type rawListener struct {
	f    *os.File
	rc   syscall.RawConn
	addr net.Addr
}

// listenRaw makes a rawListener; call it inside the namespace.
func listenRaw(proto, addr string) (net.Listener, error) {
	p := unix.IPPROTO_TCP
	if proto == "sctp" {
		p = unix.IPPROTO_SCTP
	}
	fd, err := socketBound(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, p, addr)
	if errors.Is(err, unix.EPROTONOSUPPORT) {
		return nil, fmt.Errorf("%s: this kernel has no SCTP (socket(2) says %w)", proto, err)
	}
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), proto+":"+addr)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	ap, _ := netip.ParseAddrPort(addr)
	return &rawListener{f: f, rc: rc, addr: net.TCPAddrFromAddrPort(ap)}, nil
}

func (l *rawListener) Accept() (net.Conn, error) {
	var nfd int
	var aerr error
	err := l.rc.Read(func(fd uintptr) bool {
		nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		return aerr != unix.EAGAIN // false: park until the netpoller says readable
	})
	if err != nil {
		return nil, err
	}
	if aerr != nil {
		return nil, aerr
	}
	return fileConn{os.NewFile(uintptr(nfd), "conn"), l.addr}, nil
}

func (l *rawListener) Close() error   { return l.f.Close() }
func (l *rawListener) Addr() net.Addr { return l.addr }

// fileConn is an accepted non-blocking fd as a net.Conn: its reads and
// writes wait in the netpoller too.
type fileConn struct {
	*os.File
	local net.Addr
}

func (c fileConn) LocalAddr() net.Addr  { return c.local }
func (c fileConn) RemoteAddr() net.Addr { return nil }

// socketBound creates a socket and binds and listens on addr (IPv4).
func socketBound(family, typ, proto int, addr string) (int, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() {
		return -1, fmt.Errorf("address %q: want IPv4:PORT", addr)
	}
	fd, err := unix.Socket(family, typ, proto)
	if err != nil {
		return -1, err
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := unix.Listen(fd, 128); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
