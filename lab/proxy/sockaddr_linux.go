package proxy

import (
	"fmt"
	"net"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

func parseAddrPort(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ap, fmt.Errorf("address %q is not IP:PORT", s)
	}
	return ap, nil
}

func toSockaddr(ap netip.AddrPort) (unix.Sockaddr, int) {
	if ap.Addr().Unmap().Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}, unix.AF_INET
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}, unix.AF_INET6
}

func sockaddrToNet(network string, sa unix.Sockaddr) net.Addr {
	var ap netip.AddrPort
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		ap = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		ap = netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	if protoKind(network) == "packet" {
		return net.UDPAddrFromAddrPort(ap)
	}
	return net.TCPAddrFromAddrPort(ap)
}

// fdConn hands an accepted blocking fd to the netpoller as a net.Conn.
func fdConn(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "accepted")
	c, err := net.FileConn(f) // dups, and makes the dup non-blocking
	f.Close()
	return c, err
}
