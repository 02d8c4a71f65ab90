//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/vishvananda/netlink"
)

// nobody is the unprivileged account the experiment runs as.
const nobody = 65534

// rootless runs a child as nobody, which then tries to make namespaces.
// (The binary must be executable by nobody: build it with go build into a
// directory anyone can read, not with go run.)
func rootless() error {
	c, err := start(&syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}, "rootless")
	if err != nil {
		return err
	}
	holdIfAsked(c)
	return c.wait()
}

// rootlessChild runs as nobody. A network namespace alone is refused; with
// a user namespace of its own, mapping nobody to root inside, it is
// allowed, and the grandchild is root over its own network stack.
func rootlessChild([]string) error {
	fmt.Printf("I am uid %d\n", os.Getuid())
	_, err := start(&syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}, "rootless-netns")
	fmt.Printf("a new network namespace alone: %v\n", err)
	c, err := start(&syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}, "rootless-netns")
	if err != nil {
		return err
	}
	for range 3 {
		if _, err := c.next(); err != nil {
			return err
		}
	}
	return c.wait()
}

// rootlessNetns runs as root in a user namespace of its own, in a network
// namespace that user namespace owns: its links are its to make, the
// host's are not.
func rootlessNetns([]string) error {
	fmt.Printf("inside: uid %d\n", os.Getuid())
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "v0"}, PeerName: "v1"}
	if err := netlink.LinkAdd(veth); err != nil {
		return err
	}
	lo, _ := netlink.LinkByName("lo")
	fmt.Printf("made veth v0/v1, lo up: %v\n", netlink.LinkSetUp(lo))
	v1, err := netlink.LinkByName("v1")
	if err != nil {
		return err
	}
	// PID 1's namespace belongs to the initial user namespace, over which
	// this process has no capability.
	err = netlink.LinkSetNsPid(v1, 1)
	if errors.Is(err, syscall.EPERM) {
		fmt.Printf("move v1 to the host: %v\n", err)
	} else {
		fmt.Printf("move v1 to the host: unexpectedly %v\n", err)
	}
	return nil
}
