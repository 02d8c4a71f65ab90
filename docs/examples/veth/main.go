//go:build linux

// Command veth builds what a container runtime builds for every container:
// a child process in a new network namespace, a veth pair with one end
// moved into it, addresses, a default route, and a ping both ways. Ending
// the child destroys its namespace, and the kernel removes the veth pair
// with it.
//
// With -bridge, it starts several children and plugs each into a bridge on
// the host instead: every child waits for its interface and configures it
// itself, and every child reaches every other.
//
//	sudo go run ./docs/examples/veth
//	sudo go run ./docs/examples/veth -bridge nslab-br0 -children 3
//
// Run it as root: it makes links on the host and removes them at the end.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/nslab/nslab/docs/examples/nsdo"
)

var (
	hostIf   = flag.String("host-if", "nslab-veth0", "the host end of the pair (with -bridge: the prefix of each host end)")
	peerIf   = flag.String("peer", "ceth0", "the end that moves into the child (with -bridge: eth0)")
	bridge   = flag.String("bridge", "", "plug the children into this bridge instead (made here, removed at the end)")
	children = flag.Int("children", 3, "with -bridge, how many children")
	subnet   = flag.String("subnet", "", "the /24 of the cable (default 10.10.0, with -bridge 10.30.0): the host is .1")
	far      = flag.String("far", "10.20.0.1", "a second host address, on a subnet the child reaches only through its default route")
	hold     = flag.Bool("hold", false, "after the pings, print \"ready\" and wait for end of input before tearing down")
)

func init() {
	// A child re-executed from this binary (see startChild) lands here
	// before main. Keep the main goroutine on the main thread: the
	// namespace switches below run on other threads, which the runtime
	// may discard.
	runtime.LockOSThread()
	if len(os.Args) > 1 && os.Args[1] == "child" {
		os.Exit(child(os.Args[2:]))
	}
}

func main() {
	flag.Parse()
	var err error
	if *bridge == "" {
		err = oneChild()
	} else {
		err = bridged()
	}
	if err != nil {
		log.Fatal(err)
	}
}

// oneChild is the veth lesson: one child, configured from outside.
func oneChild() error {
	c, err := startChild()
	if err != nil {
		return err
	}
	defer c.stop()
	defer onSignal(c.stop)()
	fmt.Printf("child PID %d, in a new network namespace: /proc/%d/ns/net\n", c.pid(), c.pid())

	if err := makePair(*hostIf, *peerIf, c.pid()); err != nil {
		return err
	}
	defer netlink.LinkDel(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: *hostIf}}) // gone already if the child ended
	sub := orDefault(*subnet, "10.10.0")
	if err := configureHost(*hostIf, sub+".1/24", *far+"/24"); err != nil {
		return err
	}
	if err := configureInside(c.nsPath(), *peerIf, sub+".2/24", sub+".1"); err != nil {
		return err
	}

	// Both ways: from the host to the child, and from inside the child's
	// namespace (a socket made there) to the host's other subnet, which
	// only the default route reaches.
	if err := pingFrom("", sub+".2"); err != nil {
		return err
	}
	if err := pingFrom(c.nsPath(), *far); err != nil {
		return err
	}
	if *hold {
		waitForEOF()
	}

	c.stop()
	if err := waitGone(*hostIf, 5*time.Second); err != nil {
		return err
	}
	fmt.Printf("the child is gone, and so is %s: its peer died with the namespace\n", *hostIf)
	return nil
}

// makePair creates the pair on the host and moves the peer into the
// namespace of process pid, through a file descriptor of /proc/PID/ns/net.
// A moved link keeps its name, loses its addresses, and arrives down.
func makePair(host, peer string, pid int) error {
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: host}, PeerName: peer}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth %s peer %s: %w", host, peer, err)
	}
	p, err := netlink.LinkByName(peer)
	if err != nil {
		return err
	}
	target, err := netns.GetFromPid(pid)
	if err != nil {
		return err
	}
	defer target.Close()
	if err := netlink.LinkSetNsFd(p, int(target)); err != nil { // or netlink.LinkSetNsPid(p, pid)
		return fmt.Errorf("move %s into PID %d's namespace: %w", peer, pid, err)
	}
	return nil
}

// configureHost gives the host end its addresses and brings it up.
func configureHost(name string, cidrs ...string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	for _, c := range cidrs {
		a, err := netlink.ParseAddr(c)
		if err != nil {
			return err
		}
		if err := netlink.AddrAdd(l, a); err != nil {
			return fmt.Errorf("addr add %s dev %s: %w", c, name, err)
		}
	}
	return netlink.LinkSetUp(l)
}

// configureInside configures the moved end from the host: a netlink handle
// made inside the child's namespace (its socket stays there, whichever
// thread uses it later), then an address, links up and a default route.
func configureInside(nsPath, name, cidr, gw string) error {
	var h *netlink.Handle
	err := nsdo.Do(nsPath, func() (err error) {
		h, err = netlink.NewHandle()
		return err
	})
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := h.LinkByName(name)
	if err != nil {
		return err
	}
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		return err
	}
	if err := h.AddrAdd(l, a); err != nil {
		return fmt.Errorf("addr add %s dev %s inside: %w", cidr, name, err)
	}
	lo, err := h.LinkByName("lo")
	if err != nil {
		return err
	}
	for _, up := range []netlink.Link{l, lo} {
		if err := h.LinkSetUp(up); err != nil {
			return err
		}
	}
	// Dst nil: the default route.
	if err := h.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: net.ParseIP(gw)}); err != nil {
		return fmt.Errorf("route add default via %s inside: %w", gw, err)
	}
	return nil
}

// waitGone waits for a link to disappear: the kernel tears a namespace
// down shortly after its last process exits, not at once.
func waitGone(name string, limit time.Duration) error {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, err := netlink.LinkByName(name)
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
	}
	return fmt.Errorf("%s is still there %s after its peer's namespace lost its last process", name, limit)
}

// onSignal runs stop on Ctrl-C or SIGTERM, then exits; call the returned
// function to stop listening.
func onSignal(stop func()) func() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-ch; ok {
			stop()
			os.Exit(130)
		}
	}()
	return func() { signal.Stop(ch); close(ch) }
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func waitForEOF() {
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString(0)
}
