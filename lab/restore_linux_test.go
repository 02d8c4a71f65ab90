package lab_test

import (
	"errors"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

// Keep the main goroutine on the main thread, as every test binary does
// (nslab itself does not: lab.GoLocked keeps its switches off that thread):
// a switch goroutine that lands on the main thread and fails to restore
// cannot have its thread discarded (the runtime parks the main thread for
// good instead), and that thread would stay in the tenant namespace.
func init() { runtime.LockOSThread() }

// A thread that cannot go back to its namespace must never serve another
// goroutine: the switch leaves it locked, the runtime discards it, and every
// socket made afterwards lands where it was asked to.
func TestRestoreFailureDiscardsTheThread(t *testing.T) {
	s := labtest.New(t)
	ns := loNetns(t, s, "rst")
	host := inode(t, "/proc/self/ns/net")
	hostNs, err := lab.OpenNetnsPath("host", "/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer hostNs.Close()

	var failures atomic.Int32
	undo := lab.SetRestoreHook(func(origin int, restore func(int) error) error {
		if failures.Add(1) == 1 {
			return unix.EPERM // stay in the tenant namespace, as a real failure would
		}
		return restore(origin)
	})
	defer undo()

	_, err = lab.ListenIn(ns, "tcp", "127.0.0.1:0")
	var re *lab.RestoreError
	if !errors.As(err, &re) {
		t.Fatalf("ListenIn with a failing restore = %v, want a *lab.RestoreError", err)
	}

	// The stuck thread exits with its goroutine; wait (bounded) until no
	// thread of this process is left in the tenant namespace.
	for i := 0; ; i++ {
		stuck := 0
		for _, ino := range threadNetns(t) {
			if ino == ns.Inode() {
				stuck++
			}
		}
		if stuck == 0 {
			break
		}
		if i == 200 {
			t.Fatalf("%d thread(s) still in the tenant namespace after a failed restore", stuck)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Every later socket lands where it was asked: host ones in the host,
	// tenant ones in the tenant, over many switches on recycled threads.
	for i := range 200 {
		want, where := host, (*lab.Netns)(nil)
		if i%2 == 1 {
			want, where = ns.Inode(), ns
		}
		socks := []lab.Socket{{Network: "tcp", Addr: "127.0.0.1:0"}, {Network: "udp", Addr: "127.0.0.1:0"}}
		if err := lab.BindIn(where, socks); err != nil {
			t.Fatal(err)
		}
		for _, sk := range socks {
			var x any = sk.Packet
			if sk.Stream() {
				x = sk.Listener
			}
			if got := sockNetns(t, x); got != want {
				t.Fatalf("socket %d (%s) landed in net:[%d], want net:[%d]", i, sk.Network, got, want)
			}
			sk.Close()
		}
		// ListenIn into the host namespace (opened by path, so it goes
		// through the switch too) lands in the host.
		hl, err := lab.ListenIn(hostNs, "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if got := sockNetns(t, hl); got != host {
			t.Fatalf("ListenIn(host) %d after a failed restore landed in net:[%d], want net:[%d]", i, got, host)
		}
		hl.Close()
		// And a plain socket made off the switch is always the host's.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if got := sockNetns(t, l); got != host {
			t.Fatalf("plain net.Listen after a failed restore landed in net:[%d]", got)
		}
		l.Close()
	}
	if n := failures.Load(); n < 100 {
		t.Fatalf("the hook ran %d times; the test did not exercise the switch", n)
	}
	assertThreadsHome(t)
}
