//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// mount shows mount propagation. A scratch directory becomes a shared
// mount point (as /run/netns is, so that `ip netns add` reaches every
// peer). Two children get mount namespaces: "peer" keeps the shared copy,
// "loner" has Go make everything private. A tmpfs the parent mounts
// afterwards reaches the peer and not the loner; one the loner mounts
// stays its own.
func mount() error {
	d := *dir
	if d == "" {
		var err error
		if d, err = os.MkdirTemp("", "reexec-mount-"); err != nil {
			return err
		}
		defer os.RemoveAll(d)
	}
	sub, own := filepath.Join(d, "sub"), filepath.Join(d, "own")
	for _, p := range []string{sub, own} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
	}
	if err := makeShared(d); err != nil {
		return err
	}
	defer unix.Unmount(d, unix.MNT_DETACH)

	peer, err := start(&syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS}, "mount-peek", sub)
	if err != nil {
		return err
	}
	loner, err := start(&syscall.SysProcAttr{
		Cloneflags:   syscall.CLONE_NEWNS,
		Unshareflags: syscall.CLONE_NEWNS, // Go remounts / rprivate in the child
	}, "mount-own", sub, own)
	if err != nil {
		return err
	}
	if err := unix.Mount("nslab-scratch", sub, "tmpfs", 0, "size=1m"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", sub, err)
	}
	defer unix.Unmount(sub, unix.MNT_DETACH)
	fmt.Printf("mounted a tmpfs on %s\n", sub)
	for _, c := range []*child{peer, loner} {
		c.step()
		if _, err := c.next(); err != nil {
			return err
		}
	}
	if _, err := loner.next(); err != nil { // its own mount
		return err
	}
	fmt.Printf("here, %s is %s\n", own, fsType(own))
	holdIfAsked(peer, loner)
	peer.wait()
	return loner.wait()
}

// makeShared turns a directory into a mount point of its own (a bind
// mount onto itself) and marks it shared, as iproute2 does with /run/netns.
func makeShared(d string) error {
	if err := unix.Mount(d, d, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s: %w", d, err)
	}
	if err := unix.Mount("", d, "", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make %s shared: %w", d, err)
	}
	return nil
}

// mountPeek reports what args[0] is once the parent has mounted there.
func mountPeek(args []string) error {
	waitParent()
	fmt.Printf("%s is %s here\n", args[0], fsType(args[0]))
	waitParent()
	return nil
}

// mountOwn peeks as mountPeek does, then mounts a tmpfs of its own: its
// mounts are private, so this one stays inside.
func mountOwn(args []string) error {
	waitParent()
	fmt.Printf("%s is %s here\n", args[0], fsType(args[0]))
	if err := unix.Mount("nslab-own", args[1], "tmpfs", 0, "size=1m"); err != nil {
		return err
	}
	fmt.Printf("mounted a tmpfs on %s; here it is %s\n", args[1], fsType(args[1]))
	waitParent()
	return nil
}

// fsType names what is mounted at path: a tmpfs, or the directory of the
// file system below.
func fsType(path string) string {
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		return err.Error()
	}
	if fs.Type == unix.TMPFS_MAGIC {
		return "a tmpfs"
	}
	return "a plain directory"
}
