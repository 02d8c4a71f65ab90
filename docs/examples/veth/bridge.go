//go:build linux

package main

import (
	"fmt"
	"strings"

	"github.com/vishvananda/netlink"
)

// bridged is the bridge lesson: a bridge on the host with an address, and
// several children, each plugged in by a veth pair whose host end is a
// port of the bridge. Each child configures its own end; then every child
// pings every other and the bridge.
func bridged() error {
	sub := orDefault(*subnet, "10.30.0")
	br, err := addBridge(*bridge, sub+".1/24")
	if err != nil {
		return err
	}
	defer netlink.LinkDel(br)
	var kids []*childProc
	stopAll := func() {
		for _, c := range kids {
			c.stop()
		}
	}
	defer stopAll()
	defer onSignal(func() { stopAll(); netlink.LinkDel(br) })()
	for i := 1; i <= *children; i++ {
		addr := fmt.Sprintf("%s.%d", sub, 10+i)
		c, err := startChild("eth0", addr+"/24", sub+".1")
		if err != nil {
			return err
		}
		kids = append(kids, c)
		fmt.Printf("child %d is PID %d\n", i, c.pid())
		if err := plug(br, fmt.Sprintf("%s%d", *hostIf, i), "eth0", c.pid()); err != nil {
			return err
		}
		if err := c.expect("configured"); err != nil {
			return err
		}
	}
	for i, from := range kids {
		for j := range kids {
			if i != j {
				if err := pingFrom(from.nsPath(), fmt.Sprintf("%s.%d", sub, 11+j)); err != nil {
					return err
				}
			}
		}
		if err := pingFrom(from.nsPath(), sub+".1"); err != nil {
			return err
		}
	}
	fmt.Printf("%s has ports %s\n", *bridge, strings.Join(bridgePorts(br), ", "))
	if *hold {
		waitForEOF()
	}
	return nil
}

// addBridge makes a bridge on the host, gives it an address and brings it
// up: the children's gateway.
func addBridge(name, cidr string) (netlink.Link, error) {
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := netlink.LinkAdd(br); err != nil {
		return nil, fmt.Errorf("add bridge %s: %w", name, err)
	}
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		return br, err
	}
	if err := netlink.AddrAdd(br, a); err != nil {
		return br, err
	}
	return br, netlink.LinkSetUp(br)
}

// plug creates a veth pair whose host end is a port of the bridge from the
// start and whose peer is created straight inside process pid's namespace.
func plug(br netlink.Link, host, peer string, pid int) error {
	la := netlink.NewLinkAttrs()
	la.Name = host
	la.MasterIndex = br.Attrs().Index
	veth := &netlink.Veth{LinkAttrs: la, PeerName: peer, PeerNamespace: netlink.NsPid(pid)}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth %s peer %s in PID %d's namespace: %w", host, peer, pid, err)
	}
	return netlink.LinkSetUp(veth)
}

// bridgePorts lists the links whose master is the bridge.
func bridgePorts(br netlink.Link) []string {
	links, _ := netlink.LinkList()
	var out []string
	for _, l := range links {
		if l.Attrs().MasterIndex == br.Attrs().Index {
			out = append(out, l.Attrs().Name)
		}
	}
	return out
}
