//go:build linux

package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// sandbox does what nslab does for a learner who is not root: it
// re-executes itself into new user, mount, network and PID namespaces at
// once, the caller's uid mapped to 0. Inside, the child is PID 1 and root
// over namespaces its user namespace owns, and over nothing else: the
// machine's hostname (its UTS namespace was not made new) is out of reach.
// Anyone may run it; nothing it makes outlives it.
func sandbox() error {
	c, err := start(&syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWNET | syscall.CLONE_NEWPID,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}, "sandbox")
	if err != nil {
		return err
	}
	for range 3 {
		if _, err := c.next(); err != nil {
			return err
		}
	}
	holdIfAsked(c)
	return c.wait()
}

// sandboxChild runs as PID 1 of the sandbox, root there.
func sandboxChild([]string) error {
	m, _ := os.ReadFile("/proc/self/uid_map")
	fmt.Printf("inside: uid %d, PID %d, uid_map %s\n", os.Getuid(), os.Getpid(), strings.Join(strings.Fields(string(m)), " "))
	lo, err := netlink.LinkByName("lo")
	if err == nil {
		err = netlink.LinkSetUp(lo)
	}
	fmt.Printf("lo up in its own network namespace: %v\n", err)
	fmt.Printf("sethostname on the machine's UTS namespace: %v\n", unix.Sethostname([]byte("nslab-sandbox")))
	waitParent()
	return nil
}
