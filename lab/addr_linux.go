package lab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// AddAddr adds an address to a link, like `ip addr add CIDR dev NAME`.
func (s *Session) AddAddr(cidr, link, ns string) error {
	p, err := ParseCIDR(cidr)
	if err != nil {
		return err
	}
	st, l, err := s.changeableLink(ns, link)
	if err != nil {
		return err
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
	if p.Addr().Is6() {
		// Without this, the kernel runs duplicate address detection and the
		// address stays "tentative" (unusable) for a second or two.
		addr.Flags = unix.IFA_F_NODAD
	}
	if err := st.nl.AddrAdd(l, addr); err != nil {
		if errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("add %s to %s: the link already has it: %w", cidr, link, ErrExists)
		}
		return fmt.Errorf("add address %s to %s: %w", cidr, link, errnoKind(err))
	}
	return nil
}

// AddRoute adds a route in a namespace, like `ip route add DST via GW`. dst
// is "default" or a CIDR; dev may be empty.
func (s *Session) AddRoute(dst, via, dev, ns string) error {
	if err := s.mayChange(ns); err != nil {
		return err
	}
	st, err := s.state(ns)
	if err != nil {
		return err
	}
	r := &netlink.Route{}
	var gw netip.Addr
	if via != "" {
		if gw, err = ParseIP(via); err != nil {
			return err
		}
		r.Gw = gw.AsSlice()
	}
	if dst == "default" {
		if !gw.IsValid() {
			return fmt.Errorf("route default: %w: give a gateway, as in `route add default via 10.0.0.1`", ErrInvalid)
		}
		bits := 32
		if gw.Is6() {
			bits = 128
		}
		r.Dst = &net.IPNet{IP: net.IP(make([]byte, bits/8)), Mask: net.CIDRMask(0, bits)}
	} else {
		p, err := ParseCIDR(dst)
		if err != nil {
			return err
		}
		p = p.Masked()
		r.Dst = &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
	}
	if dev != "" {
		_, l, err := s.changeableLink(ns, dev)
		if err != nil {
			return err
		}
		r.LinkIndex = l.Attrs().Index
	} else if IsHost(ns) {
		if err := s.hostRouteThroughOwnLink(st, dst, gw); err != nil {
			return err
		}
	}
	if err := st.nl.RouteAdd(r); err != nil {
		switch {
		case errors.Is(err, syscall.ENETUNREACH):
			return fmt.Errorf("route %s via %s in %s: the gateway is not on any connected network there: %w: add an address in its subnet to a link that is up first", dst, via, nsLabel(ns), ErrInvalid)
		case errors.Is(err, syscall.EEXIST):
			return fmt.Errorf("route %s in %s: %w", dst, nsLabel(ns), ErrExists)
		}
		return fmt.Errorf("add route %s via %s in %s: %w", dst, via, nsLabel(ns), errnoKind(err))
	}
	return nil
}

// hostRouteThroughOwnLink refuses a route in the host namespace that would
// not leave through one of the session's own links. The journal records no
// routes: a route through a lab link goes when the kernel removes the link,
// but one through the machine's own interfaces would outlive the lab, and
// the host's routing table is not the lab's to change.
func (s *Session) hostRouteThroughOwnLink(st *nsState, dst string, gw netip.Addr) error {
	refuse := fmt.Errorf("route %s in the host namespace: %w: on the host the lab adds routes only through its own links, so that they go when the lab does; give `dev NAME` of a link this lab made, or a gateway on that link's network", dst, ErrNotOwned)
	if !gw.IsValid() {
		return refuse
	}
	rs, err := st.nl.RouteGet(gw.AsSlice())
	if err != nil || len(rs) == 0 {
		return nil // unreachable: RouteAdd says so
	}
	l, err := st.nl.LinkByIndex(rs[0].LinkIndex)
	if err != nil {
		return refuse
	}
	if e, ok := s.owned(KindLink, "", l.Attrs().Name); ok && (e.Index == 0 || e.Index == l.Attrs().Index) {
		return nil
	}
	return refuse
}

// Route is one entry of a routing table, as `ip route` prints it.
type Route struct {
	Dst string // "default" or a CIDR
	Via string
	Dev string
}

// Routes lists the main routing table of a namespace (IPv4 and IPv6).
func (s *Session) Routes(ns string) ([]Route, error) {
	st, err := s.state(ns)
	if err != nil {
		return nil, err
	}
	rs, err := retryDump(func() ([]netlink.Route, error) { return st.nl.RouteList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("list routes in %s: %w", nsLabel(ns), err)
	}
	names := map[int]string{}
	if links, err := retryDump(st.nl.LinkList); err == nil {
		for _, l := range links {
			names[l.Attrs().Index] = l.Attrs().Name
		}
	}
	out := make([]Route, 0, len(rs))
	for _, r := range rs {
		rt := Route{Dst: "default", Dev: names[r.LinkIndex]}
		if r.Dst != nil {
			if ones, _ := r.Dst.Mask.Size(); ones != 0 || !r.Dst.IP.IsUnspecified() {
				rt.Dst = r.Dst.String()
			}
		}
		if r.Gw != nil {
			rt.Via = r.Gw.String()
		}
		out = append(out, rt)
	}
	return out, nil
}
