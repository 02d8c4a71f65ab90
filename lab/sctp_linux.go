package lab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// ListenSCTPIn creates a one-to-one (SOCK_STREAM) SCTP listener inside ns
// (nil: the current namespace). network is sctp, sctp4 or sctp6; addr is an
// IP literal and port. The socket is non-blocking and served by the Go
// netpoller (see listenRawIn), so a goroutine waiting in Accept holds no
// thread. Accepted connections are net.Conns with CloseWrite.
//
// Where the kernel has no SCTP, the error wraps ErrUnsupported and says so.
func ListenSCTPIn(ns *Netns, network, addr string) (net.Listener, error) {
	if err := checkFamily(network, addr); err != nil {
		return nil, err
	}
	l, err := listenRawIn(ns, network, unix.SOCK_STREAM, unix.IPPROTO_SCTP, addr)
	if err != nil && (errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.ESOCKTNOSUPPORT)) {
		return nil, fmt.Errorf("listen %s %s: this kernel has no SCTP: %s: %w", network, addr, sctpWhy(unwrapSyscall(err)), err)
	}
	return l, err
}

// checkFamily refuses an address of the wrong family for a "4" or "6"
// network (sctp4 with [::1]:80), the way net.Listen does for tcp4.
func checkFamily(network, addr string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		if lerr := literalAddr(network, addr); lerr != nil {
			return lerr
		}
		return fmt.Errorf("%s address %q: %w: give the IP too, like 0.0.0.0:%s or [::]:%s", network, addr, ErrInvalid, trimColon(addr), trimColon(addr))
	}
	switch network[len(network)-1] {
	case '4':
		if !ap.Addr().Unmap().Is4() {
			return fmt.Errorf("%s address %q is not IPv4: %w", network, addr, ErrInvalid)
		}
	case '6':
		if !ap.Addr().Is6() || ap.Addr().Is4In6() {
			return fmt.Errorf("%s address %q is not IPv6: %w", network, addr, ErrInvalid)
		}
	}
	return nil
}

func trimColon(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			return s[i+1:]
		}
	}
	return s
}
