package script

import (
	"fmt"
	"strings"

	"github.com/nslab/nslab/lab"
)

// The shell and Go equivalents of the network commands. The shell is
// rendered by an Sh, in order (a name may be a namespace or a spawned
// child); the Go is a short snippet written as the programs in
// docs/examples are: vishvananda/netns and netlink, x/sys/unix, and
// nsdo.Do, the locked-thread switch they share (docs/examples/nsdo).

// nsPathGo is the Go string literal of a namespace's file.
func nsPathGo(ns string) string { return fmt.Sprintf("%q", "/run/netns/"+lab.SysName(ns)) }

// goNetlink renders netlink calls in namespace ns: on the host, the
// package's functions; elsewhere, a handle made inside once (its socket
// stays there, whatever thread uses it later).
func goNetlink(ns string, body func(h string) string) string {
	if lab.IsHost(ns) {
		return body("netlink")
	}
	return fmt.Sprintf("var h *netlink.Handle // a netlink socket inside %s, made once, used from any thread\n"+
		"nsdo.Do(%s, func() (err error) { h, err = netlink.NewHandle(); return err })\n%s", lab.SysName(ns), nsPathGo(ns), body("h"))
}

// netnsBatch renders `ip netns VERB` for each name; a range goes to one ip
// with batch flags, many times faster than an ip process per name.
func netnsBatch(x *Sh, runs []nameRun, verb, batch string) string {
	var lines []string
	for _, r := range runs {
		if r.isRange {
			lines = append(lines, fmt.Sprintf("printf 'netns %s %s\\n' $(seq %d %d) | ip %s-", verb, x.netns(r.prefix+"%s"+r.suffix), r.from, r.to, batch))
		} else {
			lines = append(lines, fmt.Sprintf("ip netns %s %s", verb, x.netns(r.names[0])))
		}
	}
	return strings.Join(lines, "\n")
}

func shNetnsAdd(runs []nameRun) func(*Sh) string {
	return func(x *Sh) string { return netnsBatch(x, runs, "add", "-batch ") }
}

func undoNetnsAdd(runs []nameRun) func(*Sh) []string {
	// -force: go on past a namespace already gone.
	return func(x *Sh) []string { return []string{netnsBatch(x, runs, "del", "-force -batch ")} }
}

func goNetnsAdd(name string) string {
	return fmt.Sprintf(`go func() {
	runtime.LockOSThread() // never unlocked: NewNamed moves this thread into the new namespace
	ns, err := netns.NewNamed(%s) // unshare(CLONE_NEWNET), bind-mounted in /run/netns
	...
}()`, name)
}

func shNetnsDel(runs []nameRun) func(*Sh) string {
	return func(x *Sh) string { return netnsBatch(x, runs, "del", "-batch ") }
}

func goNetnsDel(name string) string {
	return fmt.Sprintf("netns.DeleteNamed(%s) // unmount and remove; the kernel frees it once nothing holds it", name)
}

func shBridgeAdd(ns, name string) func(*Sh) string {
	return func(x *Sh) string { return fmt.Sprintf("%s link add %s type bridge", x.ip(ns), x.link(ns, name)) }
}

// undoLinkAdd removes a link the script made on the host; one inside a
// namespace goes with the namespace.
func undoLinkAdd(ns, name string) func(*Sh) []string {
	return func(x *Sh) []string {
		if !lab.IsHost(ns) {
			return nil
		}
		return []string{"ip link del " + x.link(ns, name) + " 2>/dev/null"}
	}
}

func goBridgeAdd(ns, name string) string {
	return goNetlink(ns, func(h string) string {
		return fmt.Sprintf("%s.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: %q}})", h, lab.LinkSysName(ns, name))
	})
}

func shVethAdd(name, ns, peer, peerNS string) func(*Sh) string {
	return func(x *Sh) string {
		s := fmt.Sprintf("%s link add %s type veth peer name %s", x.ip(ns), x.link(ns, name), x.link(peerNS, peer))
		if peerNS != ns {
			s += " netns " + x.target(peerNS)
		}
		return s
	}
}

func undoVethAdd(name, ns, peer, peerNS string) func(*Sh) []string {
	return func(x *Sh) []string {
		switch {
		case lab.IsHost(ns):
			return undoLinkAdd(ns, name)(x)
		case lab.IsHost(peerNS):
			return undoLinkAdd(peerNS, peer)(x)
		}
		return nil
	}
}

func goVethAdd(name, ns, peer, peerNS string) string {
	peerGo := ""
	if peerNS != ns {
		peerGo = fmt.Sprintf("\n\tPeerNamespace: netlink.NsFd(int(peerNs)), // netns.GetFromPath(%s), or netlink.NsPid(pid) for a child", nsPathGo(peerNS))
	}
	return goNetlink(ns, func(h string) string {
		return fmt.Sprintf("%s.LinkAdd(&netlink.Veth{\n\tLinkAttrs: netlink.LinkAttrs{Name: %q},\n\tPeerName:  %q,%s\n})",
			h, lab.LinkSysName(ns, name), lab.LinkSysName(peerNS, peer), peerGo)
	})
}

func goLinkSetUp(ns, name, fn string) string {
	return goNetlink(ns, func(h string) string {
		return fmt.Sprintf("l, _ := %s.LinkByName(%q)\n%s.%s(l)", h, lab.LinkSysName(ns, name), h, fn)
	})
}

func goLinkSetMaster(ns, name, br string) string {
	return goNetlink(ns, func(h string) string {
		return fmt.Sprintf("l, _ := %s.LinkByName(%q)\nbr, _ := %s.LinkByName(%q)\n%s.LinkSetMaster(l, br)", h, lab.LinkSysName(ns, name), h, lab.LinkSysName(ns, br), h)
	})
}

// shLinkSetNetns moves a link and, as the lab does, names it for where it
// arrives: the lab's prefix on the host, the learner's name elsewhere.
func shLinkSetNetns(ns, name, to string) func(*Sh) string {
	return func(x *Sh) string {
		from, dst := x.link(ns, name), x.link(to, lab.ShortName(name))
		s := fmt.Sprintf("%s link set %s netns %s", x.ip(ns), from, x.target(to))
		if dst != from {
			s += " name " + dst
		}
		return s
	}
}

func goLinkSetNetns(ns, name, to string) string {
	target := fmt.Sprintf("netns.GetFromPath(%s) // a child's: netns.GetFromPid(pid)", nsPathGo(to))
	if lab.IsHost(to) {
		target = "netns.GetFromPid(1) // the host's"
	}
	return goNetlink(ns, func(h string) string {
		return fmt.Sprintf("l, _ := %s.LinkByName(%q)\ntarget, _ := %s\n%s.LinkSetNsFd(l, int(target)) // it arrives down, without addresses", h, lab.LinkSysName(ns, name), target, h)
	})
}

func goLinkDel(ns, name string) string {
	return goNetlink(ns, func(h string) string {
		return fmt.Sprintf("l, _ := %s.LinkByName(%q)\n%s.LinkDel(l) // a veth takes its peer with it", h, lab.LinkSysName(ns, name), h)
	})
}

func goLinkShow(ns string) string {
	return goNetlink(ns, func(h string) string { return fmt.Sprintf("links, _ := %s.LinkList()", h) })
}

func goAddrAdd(ns, dev, cidr string) string {
	return goNetlink(ns, func(h string) string {
		return fmt.Sprintf("l, _ := %s.LinkByName(%q)\naddr, _ := netlink.ParseAddr(%q)\n%s.AddrAdd(l, addr)", h, lab.LinkSysName(ns, dev), cidr, h)
	})
}

func shRouteAdd(ns, dst, via, dev string) func(*Sh) string {
	return func(x *Sh) string {
		s := fmt.Sprintf("%s route add %s via %s", x.ip(ns), dst, via)
		if dev != "" {
			s += " dev " + x.link(ns, dev)
		}
		return s
	}
}

func goRouteAdd(ns, dst, via string) string {
	dstGo := fmt.Sprintf("_, dst, _ := net.ParseCIDR(%q)\n", dst)
	field := "Dst: dst, "
	if dst == "default" {
		dstGo, field = "", ""
	}
	return goNetlink(ns, func(h string) string {
		return fmt.Sprintf("%s%s.RouteAdd(&netlink.Route{%sGw: net.ParseIP(%q)}) // no Dst: the default route", dstGo, h, field, via)
	})
}

func goPing(ns, ip string) string {
	open := `c, err := icmp.ListenPacket("ip4:icmp", "0.0.0.0") // raw: CAP_NET_RAW ("udp4": a ping socket, if ping_group_range allows)`
	if !lab.IsHost(ns) {
		open = fmt.Sprintf("var c *icmp.PacketConn // made inside %s: it belongs there for life\nnsdo.Do(%s, func() (err error) {\n\tc, err = icmp.ListenPacket(\"ip4:icmp\", \"0.0.0.0\")\n\treturn err\n})",
			lab.SysName(ns), nsPathGo(ns))
	}
	return open + fmt.Sprintf("\nmsg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: 1}}\nb, _ := msg.Marshal(nil)\nc.WriteTo(b, &net.IPAddr{IP: net.ParseIP(%q)})\n// then c.ReadFrom until the echo reply (docs/examples/veth/ping.go)", ip)
}

// indent indents every line of s by a tab.
func indent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = "\t" + l
	}
	return strings.Join(lines, "\n")
}
