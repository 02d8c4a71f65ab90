//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// propagation shows what a copy of a shared mount sends back to the
// original. A child cloned with CLONE_NEWNS alone gets a copy of our mount
// table in which the scratch directory is still shared, a peer of ours: a
// tmpfs it mounts there appears here too, the leak a container runtime
// without Unshareflags causes on a host whose / is shared (systemd's). A
// child that first makes its copy a slave receives our mounts and sends
// none back. Last, an unbindable mount refuses to be bind-mounted at all.
func propagation() error {
	d, done, err := sharedScratch("reexec-propagation-")
	if err != nil {
		return err
	}
	defer done()
	var kids []*child
	for _, mode := range []string{"shared", "slave"} {
		at := filepath.Join(d, mode)
		if err := os.MkdirAll(at, 0o755); err != nil {
			return err
		}
		c, err := start(&syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS}, "mount-into", d, at, mode)
		if err != nil {
			return err
		}
		if _, err := c.next(); err != nil { // mounted
			return err
		}
		fmt.Printf("a %s copy mounted a tmpfs on %s; here it is %s\n", mode, at, fsType(at))
		kids = append(kids, c)
	}
	u, u2 := filepath.Join(d, "u"), filepath.Join(d, "u2")
	fmt.Printf("bind-mount an unbindable mount: %v\n", bindUnbindable(u, u2))
	holdIfAsked(kids...)
	for _, c := range kids {
		c.wait()
	}
	return nil
}

// mountInto runs in a copy of the parent's mount table (args: the shared
// directory, where to mount, and shared or slave). As a slave, the copy
// receives its master's mounts and sends none back.
func mountInto(args []string) error {
	if args[2] == "slave" {
		if err := unix.Mount("", args[0], "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
			return err
		}
	}
	if err := unix.Mount("nslab-"+args[2], args[1], "tmpfs", 0, "size=1m"); err != nil {
		return err
	}
	fmt.Printf("mounted nslab-%s on %s\n", args[2], args[1])
	waitParent()
	return nil
}

// bindUnbindable mounts a tmpfs at u, marks it unbindable, and tries to
// bind-mount it at u2: the kernel says EINVAL.
func bindUnbindable(u, u2 string) error {
	for _, p := range []string{u, u2} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
	}
	if err := unix.Mount("nslab-u", u, "tmpfs", 0, "size=1m"); err != nil {
		return err
	}
	defer unix.Unmount(u, unix.MNT_DETACH)
	if err := unix.Mount("", u, "", unix.MS_UNBINDABLE, ""); err != nil {
		return err
	}
	err := unix.Mount(u, u2, "", unix.MS_BIND, "")
	if err == nil {
		unix.Unmount(u2, unix.MNT_DETACH)
		return errors.New("the bind worked: the mount was not unbindable")
	}
	return err
}
