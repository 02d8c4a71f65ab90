package lab

import (
	"fmt"
	"net"
	"net/netip"
	"time"
)

// literalAddr checks that addr is HOST:PORT with an IP literal (or empty)
// host. Inside the namespace switch nothing may start a goroutine or read
// files of another mount namespace, and a name lookup does both.
func literalAddr(network, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s address %q: %w: want IP:PORT, like 127.0.0.1:8080 or [::1]:8080", network, addr, ErrInvalid)
	}
	if host == "" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return fmt.Errorf("%s address %q: %q is not an IP literal: %w: inside another namespace the lab uses IP addresses only (a name lookup would run on another thread, in the wrong namespace); resolve it first", network, addr, host, ErrInvalid)
	}
	return nil
}

// ListenIn creates a stream listener inside namespace ns (nil: the current
// one). The socket lives in ns for life; the thread that made it goes back to
// its own namespace, and the listener is served by the Go netpoller like any
// other. network is tcp, tcp4 or tcp6 (sctp: see ListenSCTPIn).
func ListenIn(ns *Netns, network, addr string) (net.Listener, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	case "sctp", "sctp4", "sctp6":
		return ListenSCTPIn(ns, network, addr)
	default:
		return nil, fmt.Errorf("listen %s: unknown network %q: %w: use tcp, udp or sctp", addr, network, ErrInvalid)
	}
	if err := literalAddr(network, addr); err != nil {
		return nil, err
	}
	var l net.Listener
	err := Do(ns, func() error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listen %s %s in %s: %w", network, addr, ns, errnoKind(unwrapSyscall(err)))
	}
	return l, nil
}

// ListenPacketIn creates a datagram socket (udp, udp4, udp6) inside ns.
func ListenPacketIn(ns *Netns, network, addr string) (net.PacketConn, error) {
	switch network {
	case "udp", "udp4", "udp6":
	default:
		return nil, fmt.Errorf("listen %s: unknown packet network %q: %w: use udp, udp4 or udp6", addr, network, ErrInvalid)
	}
	if err := literalAddr(network, addr); err != nil {
		return nil, err
	}
	var c net.PacketConn
	err := Do(ns, func() error {
		var err error
		c, err = net.ListenPacket(network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listen %s %s in %s: %w", network, addr, ns, errnoKind(unwrapSyscall(err)))
	}
	return c, nil
}

// DialIn connects from inside ns to addr (an IP literal and port) over tcp
// or udp. The connection's socket lives in ns.
func DialIn(ns *Netns, network, addr string, timeout time.Duration) (net.Conn, error) {
	if err := literalAddr(network, addr); err != nil {
		return nil, err
	}
	if host, _, _ := net.SplitHostPort(addr); host == "" {
		return nil, fmt.Errorf("dial %s %q: %w: give the IP to connect to", network, addr, ErrInvalid)
	}
	var c net.Conn
	err := Do(ns, func() error {
		var err error
		d := net.Dialer{Timeout: timeout}
		c, err = d.Dial(network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("connect %s %s from %s: %w", network, addr, ns, errnoKind(unwrapSyscall(err)))
	}
	return c, nil
}

// ListenSCTPIn creates an SCTP listener inside ns. Where the kernel has no
// SCTP it returns an error wrapping ErrUnsupported.
func ListenSCTPIn(ns *Netns, network, addr string) (net.Listener, error) {
	if err := SCTPSupported(); err != nil {
		return nil, fmt.Errorf("listen %s %s: %w", network, addr, err)
	}
	return nil, fmt.Errorf("listen %s %s: SCTP listeners are not built yet: %w", network, addr, ErrUnsupported)
}
