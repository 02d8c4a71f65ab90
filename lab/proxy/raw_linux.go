package proxy

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// rawConn is a raw listener's descriptor (lab.Socket.Raw: a socket the Go
// netpoller does not know, served by the hub alone). It is the
// syscall.RawConn the hub and the datagram reader use, and it guards the
// number: once shut, nothing uses it again, for by then it may be another
// socket's. Read and Write never wait: the hub does the waiting, and a
// function that would block gets EAGAIN.
type rawConn struct {
	mu sync.RWMutex
	fd int // -1 once shut
	v6 bool
}

func newRawConn(fd int, addr netip.AddrPort) *rawConn {
	return &rawConn{fd: fd, v6: !(addr.Addr().Is4() || addr.Addr().Is4In6())}
}

func (r *rawConn) Control(f func(fd uintptr)) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.fd < 0 {
		return net.ErrClosed
	}
	f(uintptr(r.fd))
	return nil
}

func (r *rawConn) Read(f func(fd uintptr) bool) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.fd < 0 {
		return net.ErrClosed
	}
	if !f(uintptr(r.fd)) {
		return unix.EAGAIN
	}
	return nil
}

func (r *rawConn) Write(f func(fd uintptr) bool) error { return r.Read(f) }

// shut waits for every use in progress and ends them; the owner closes the
// descriptor after.
func (r *rawConn) shut() {
	r.mu.Lock()
	r.fd = -1
	r.mu.Unlock()
}

// accept takes one connection waiting on a raw listener, as a
// *net.TCPConn (so forwarding splices as before). EAGAIN, wrapped, if
// none is waiting. accept4 makes the new socket blocking on purpose (see
// fdConn): os.NewFile then leaves it out of the netpoller, and
// net.FileConn registers its own copy.
func (r *rawConn) accept() (net.Conn, error) {
	var nfd int
	var err error
	if cerr := r.Control(func(fd uintptr) {
		for {
			nfd, _, err = unix.Accept4(int(fd), unix.SOCK_CLOEXEC)
			if err != unix.EINTR {
				break
			}
		}
	}); cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, os.NewSyscallError("accept4", err)
	}
	return fdConn(nfd)
}

// sendTo sends one datagram from a raw UDP socket to a client. It never
// waits: with the socket's send buffer full the datagram is dropped, as
// the kernel itself drops datagrams it has no room for.
func (r *rawConn) sendTo(b []byte, to net.Addr) error {
	ua, ok := to.(*net.UDPAddr)
	if !ok {
		return errors.New("not a UDP address: " + to.String())
	}
	ap := ua.AddrPort()
	var sa unix.Sockaddr
	switch {
	case r.v6:
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	case !ap.Addr().Unmap().Is4():
		return errors.New("an IPv4 socket cannot answer " + to.String())
	default:
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}
	}
	var err error
	if cerr := r.Control(func(fd uintptr) {
		for {
			err = unix.Sendto(int(fd), b, unix.MSG_DONTWAIT, sa)
			if err != unix.EINTR {
				break
			}
		}
	}); cerr != nil {
		return cerr
	}
	if err != nil {
		return os.NewSyscallError("sendto", err)
	}
	return nil
}
