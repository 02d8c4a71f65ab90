//go:build linux

// Command netns does what `ip netns add` does, then looks inside: a new
// network namespace holds only lo, down, so even 127.0.0.1 is unreachable
// until lo is brought up. It then shows that the name in /run/netns and the
// namespace a thread enters are the same inode, and removes the namespace
// (unless -keep).
//
//	sudo go run ./docs/examples/netns -name demo
//
// Each look inside is a short visit of a locked thread (nsdo.Do); the
// netlink handle is made inside once and reused from any thread.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"path/filepath"
	"runtime"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/docs/examples/nsdo"
)

var (
	name = flag.String("name", "demo", "the namespace to create in /run/netns")
	keep = flag.Bool("keep", false, "leave it there at the end (remove it with: ip netns del NAME)")
)

func init() {
	// Keep the main goroutine on the main thread, which the runtime never
	// discards: namespace switches run on other threads.
	runtime.LockOSThread()
}

func main() {
	flag.Parse()
	if err := run(*name); err != nil {
		log.Fatal(err)
	}
}

func run(name string) error {
	if err := nsdo.AddNamed(name); err != nil {
		return fmt.Errorf("add %s: %w", name, err)
	}
	if !*keep {
		defer netns.DeleteNamed(name) // unmount and remove; the kernel frees it once nothing holds it
	}
	path := filepath.Join("/run/netns", name)
	fmt.Printf("created %s\n", path)

	h, err := handleIn(path)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := showLinks(h); err != nil {
		return err
	}
	fmt.Printf("dial 127.0.0.1 inside: %v\n", dialLoopback(path))

	if err := setUp(h, "lo"); err != nil {
		return err
	}
	fmt.Println("lo is up")
	if err := showLinks(h); err != nil {
		return err
	}
	fmt.Printf("dial 127.0.0.1 inside: %v\n", dialLoopback(path))

	inside, err := threadInode(path)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return err
	}
	fmt.Printf("a thread inside is in net:[%d]; %s is inode %d: the same namespace\n", inside, path, st.Ino)
	return nil
}

// handleIn makes a netlink handle inside the namespace at path: its socket
// belongs to that namespace for life, so every call through it acts there,
// from whichever thread makes it.
func handleIn(path string) (*netlink.Handle, error) {
	var h *netlink.Handle
	err := nsdo.Do(path, func() (err error) {
		h, err = netlink.NewHandle()
		return err
	})
	return h, err
}

// setUp brings a link up, as `ip -n NAME link set DEV up` does.
func setUp(h *netlink.Handle, name string) error {
	l, err := h.LinkByName(name)
	if err != nil {
		return err
	}
	return h.LinkSetUp(l)
}

// showLinks lists the namespace's links through a handle made inside it.
func showLinks(h *netlink.Handle) error {
	links, err := h.LinkList()
	if err != nil {
		return err
	}
	for _, l := range links {
		state := "DOWN"
		if l.Attrs().Flags&net.FlagUp != 0 {
			state = "UP"
		}
		fmt.Printf("  %-6s %s\n", l.Attrs().Name, state)
	}
	fmt.Printf("  %d interface(s)\n", len(links))
	return nil
}

// dialLoopback tries 127.0.0.1:9 from a socket made inside the namespace:
// "network is unreachable" while lo is down, "connection refused" once it
// is up (nothing listens on port 9).
func dialLoopback(path string) error {
	return nsdo.Do(path, func() error {
		c, err := net.DialTimeout("tcp", "127.0.0.1:9", time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// threadInode enters the namespace and reads which one this thread is in.
func threadInode(path string) (uint64, error) {
	var st unix.Stat_t
	err := nsdo.Do(path, func() error { return unix.Stat("/proc/thread-self/ns/net", &st) })
	return st.Ino, err
}
