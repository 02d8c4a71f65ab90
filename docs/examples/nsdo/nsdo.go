//go:build linux

// Package nsdo is the namespace switch the examples share: run a function
// on an OS thread inside a network namespace, and make a named one, as
// `ip netns add` does. It is what CNI's ns.Do and ns.WithNetNSPath do, in
// a page, on vishvananda/netns.
package nsdo

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// Do runs fn on a locked OS thread inside the network namespace at path (a
// /run/netns file or /proc/PID/ns/net; "" is the caller's own), then
// switches that thread back. What fn creates (sockets, netlink handles)
// stays in that namespace for life, whatever thread uses it later. fn must
// not start goroutines: they would run on other threads, outside. If
// switching back fails, the goroutine ends still locked and the runtime
// discards the thread rather than let other goroutines run in the wrong
// namespace.
func Do(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	target, err := netns.GetFromPath(path)
	if err != nil {
		return err
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() { // a fresh goroutine: never the main one, whose thread the runtime keeps
		runtime.LockOSThread()
		origin, err := netns.Get() // this thread's namespace, from /proc/self/task/TID
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer origin.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", path, err)
			return
		}
		ferr := fn()
		if err := netns.Set(origin); err != nil {
			errc <- fmt.Errorf("back from %s: %w", path, err)
			return // still locked: the thread goes with the goroutine
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// AddNamed makes a named network namespace as `ip netns add` does. It runs
// on a goroutine that locks its thread and never unlocks it:
// netns.NewNamed unshares the calling thread into the new namespace and
// bind-mounts it at /run/netns/NAME, so that thread must not run anything
// else; it ends with the goroutine.
func AddNamed(name string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread is discarded
		ns, err := netns.NewNamed(name)
		if err == nil {
			ns.Close()
		}
		errc <- err
	}()
	return <-errc
}
