//go:build linux

package main

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// user shows a user namespace three ways: without maps the child is
// nobody; the parent then writes its maps from outside; a child given maps
// at clone time is root inside, yet cannot rename the host, whose UTS
// namespace belongs to the initial user namespace, only a UTS namespace
// its own user namespace owns.
func user() error {
	u, err := start(&syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}, "user")
	if err != nil {
		return err
	}
	if _, err := u.next(); err != nil { // uid 65534 (the overflow id): unmapped
		return err
	}
	if err := writeMaps(u.pid(), "1000 0 1", "1000 0 1"); err != nil {
		return err
	}
	u.step()
	if _, err := u.next(); err != nil { // uid 1000
		return err
	}

	maps := func(flags uintptr) *syscall.SysProcAttr {
		return &syscall.SysProcAttr{
			Cloneflags:  flags,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
			// false: Go writes "deny" to setgroups before gid_map, as an
			// unprivileged parent must.
			GidMappingsEnableSetgroups: false,
		}
	}
	r, err := start(maps(syscall.CLONE_NEWUSER), "user", "rename")
	if err != nil {
		return err
	}
	r2, err := start(maps(syscall.CLONE_NEWUSER|syscall.CLONE_NEWUTS), "user", "rename")
	if err != nil {
		return err
	}
	for _, c := range []*child{r, r2} {
		for range 2 {
			if _, err := c.next(); err != nil {
				return err
			}
		}
	}
	holdIfAsked(u, r, r2)
	u.wait()
	r.wait()
	return r2.wait()
}

// writeMaps writes a child's uid and gid maps: one "inside outside count"
// line each, written once. setgroups must say deny before an unprivileged
// writer may write gid_map; nslab and this program do it as root too.
func writeMaps(pid int, uid, gid string) error {
	for _, f := range []struct{ file, line string }{{"uid_map", uid}, {"setgroups", "deny"}, {"gid_map", gid}} {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/%s", pid, f.file), []byte(f.line+"\n"), 0); err != nil {
			return fmt.Errorf("write %s of %d: %w", f.file, pid, err)
		}
	}
	return nil
}

// userChild reports its ids: an id with no map inside reads as the
// overflow id, 65534. With "rename" it then tries to rename its host.
func userChild(args []string) error {
	fmt.Printf("uid %d gid %d\n", os.Getuid(), os.Getgid())
	if len(args) == 0 {
		waitParent() // the parent writes the maps meanwhile
		fmt.Printf("after the maps: uid %d gid %d\n", os.Getuid(), os.Getgid())
		waitParent()
		return nil
	}
	tryRename()
	waitParent()
	return nil
}

// tryRename changes the hostname as root inside a user namespace: the
// capability counts only over namespaces that user namespace owns, so it
// works in a UTS namespace cloned with it and not in the host's.
func tryRename() {
	if err := unix.Sethostname([]byte("nslab-rename")); err != nil {
		fmt.Printf("root inside, but sethostname: %v\n", err)
	} else {
		fmt.Println("root inside, and sethostname worked: this UTS namespace is ours")
	}
}
