//go:build linux

package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// uts starts a child in a new UTS namespace that names itself, then reads
// the child's hostname from outside and ours.
func uts() error {
	c, err := start(&syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUTS}, "uts", *hostname)
	if err != nil {
		return err
	}
	if _, err := c.next(); err != nil { // it has renamed itself
		return err
	}
	name, err := hostnameOf(c.pid())
	if err != nil {
		return err
	}
	mine, _ := os.Hostname()
	fmt.Printf("from outside: the child's hostname is %q, ours is still %q\n", name, mine)
	holdIfAsked(c)
	return c.wait()
}

// utsChild runs inside the new UTS namespace, before anything else could:
// the reason for re-executing rather than setting the name from the
// parent, whose sethostname would rename the host.
func utsChild(args []string) error {
	if err := unix.Sethostname([]byte(args[0])); err != nil {
		return err
	}
	name, _ := os.Hostname()
	fmt.Printf("my hostname is %q\n", name)
	waitParent()
	return nil
}

// hostnameOf enters the UTS namespace of pid on a locked thread, asks, and
// comes back. (UTS, unlike mount or user namespaces, may be entered by one
// thread of a threaded process.)
func hostnameOf(pid int) (string, error) {
	type result struct {
		name string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		target, err := unix.Open(fmt.Sprintf("/proc/%d/ns/uts", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer unix.Close(target)
		home, err := unix.Open("/proc/thread-self/ns/uts", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer unix.Close(home)
		if err := unix.Setns(target, unix.CLONE_NEWUTS); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		var u unix.Utsname
		uerr := unix.Uname(&u)
		if err := unix.Setns(home, unix.CLONE_NEWUTS); err != nil {
			ch <- result{err: err}
			return // still locked: the runtime discards this thread
		}
		runtime.UnlockOSThread()
		ch <- result{unix.ByteSliceToString(u.Nodename[:]), uerr}
	}()
	r := <-ch
	return r.name, r.err
}
