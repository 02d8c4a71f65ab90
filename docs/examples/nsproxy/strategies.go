//go:build linux

package main

import (
	"fmt"
	"net"
	"os"
	"runtime"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/docs/examples/nsdo"
)

// bindShared binds one listener per tenant, each on a short visit of a
// locked thread, and serves them all with the netpoller: the thread count
// stays near GOMAXPROCS plus a few, however many tenants there are.
func bindShared(tenants []string) error {
	for _, t := range tenants {
		var l net.Listener
		err := nsdo.Do(t, func() (err error) {
			if *raw {
				l, err = listenRaw(*proto, *listen)
			} else {
				l, err = net.Listen("tcp", *listen)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("listen on %s in %s: %w", *listen, t, err)
		}
		go serve(l)
	}
	return nil
}

// bindThreadPerNamespace gives each tenant a goroutine that locks its
// thread, enters the tenant and never comes back: the thread is the
// tenant's for as long as the process lives.
func bindThreadPerNamespace(tenants []string) error {
	errc := make(chan error)
	for _, t := range tenants {
		go func() {
			runtime.LockOSThread() // never unlocked: this thread stays in t
			ns, err := netns.GetFromPath(t)
			if err != nil {
				errc <- err
				return
			}
			err = netns.Set(ns)
			ns.Close()
			if err != nil {
				errc <- fmt.Errorf("setns %s: %w", t, err)
				return
			}
			l, err := net.Listen("tcp", *listen)
			errc <- err
			if err == nil {
				serve(l) // accepts on this thread; handlers run anywhere
			}
		}()
	}
	for range tenants {
		if err := <-errc; err != nil {
			return err
		}
	}
	return nil
}

// bindBlockingAccept binds as bindShared does, but each listener is a
// blocking socket with a goroutine in accept(2): a goroutine asleep in a
// syscall holds its OS thread, so the runtime starts another for the rest,
// one per listener.
func bindBlockingAccept(tenants []string) error {
	for _, t := range tenants {
		var fd int
		err := nsdo.Do(t, func() (err error) {
			fd, err = socketBound(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP, *listen) // no SOCK_NONBLOCK
			return err
		})
		if err != nil {
			return fmt.Errorf("listen on %s in %s: %w", *listen, t, err)
		}
		go func() {
			for {
				nfd, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC) // sleeps in the kernel, holding this thread
				if err == unix.EINTR {
					continue
				}
				if err != nil {
					return
				}
				f := os.NewFile(uintptr(nfd), "conn")
				c, err := net.FileConn(f) // dups the fd; the conn's copy is non-blocking
				f.Close()
				if err == nil {
					go handle(c)
				}
			}
		}()
	}
	return nil
}
