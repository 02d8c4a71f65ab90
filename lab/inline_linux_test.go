package lab_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

// DoInline runs fn in the namespace on the caller's own goroutine, and
// every thread is home again after thousands of calls from many goroutines.
func TestDoInlineRunsInsideOnTheCallersGoroutine(t *testing.T) {
	s := labtest.New(t)
	ns := loNetns(t, s, "inl")
	var wg sync.WaitGroup
	var wrong atomic.Int64
	for range 8 {
		wg.Go(func() {
			for range 250 {
				var fd int
				err := lab.DoInline(ns, func() error {
					var err error
					fd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				if fdNetns(t, fd) != ns.Inode() {
					wrong.Add(1)
				}
				unix.Close(fd)
			}
		})
	}
	wg.Wait()
	if n := wrong.Load(); n > 0 {
		t.Errorf("%d of 2000 sockets made by DoInline were not in %s", n, ns)
	}
	assertThreadsHome(t)
}

// A thread DoInline cannot bring back ends with the calling goroutine: the
// goroutine does not come back from DoInline, and no thread is left in
// the tenant.
func TestDoInlineRestoreFailureEndsTheGoroutineAndItsThread(t *testing.T) {
	s := labtest.New(t)
	ns := loNetns(t, s, "inf")
	undo := lab.SetRestoreHook(func(int, func(int) error) error { return unix.EPERM })
	returned := make(chan bool, 1)
	go func() {
		defer func() { returned <- false }() // runs on Goexit too
		lab.DoInline(ns, func() error { return nil })
		returned <- true
	}()
	if <-returned {
		t.Fatal("DoInline returned after its thread could not come back")
	}
	undo()
	waitNoThreadIn(t, ns, "a failed inline restore")
	assertThreadsHome(t)
}

// If fn ends its goroutine (t.FailNow does), Do still answers: the caller's
// goroutine ends too, as if fn had run there, and the thread is home.
func TestDoAnswersWhenFnCallsGoexit(t *testing.T) {
	s := labtest.New(t)
	ns := loNetns(t, s, "gx")
	ended := make(chan string, 1)
	go func() {
		reached := "returned"
		defer func() { ended <- reached }()
		lab.Do(ns, func() error { runtime.Goexit(); return nil })
		reached = "continued after Do"
	}()
	select {
	case got := <-ended:
		if got != "returned" {
			t.Errorf("the caller %s; want it to end with fn's Goexit", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Do never answered after fn called runtime.Goexit")
	}
	assertThreadsHome(t)
}

// A closed handle is never entered: whatever the number now is, the switch
// refuses with net.ErrClosed.
func TestAClosedHandleIsNeverEntered(t *testing.T) {
	s := labtest.New(t)
	ns := loNetns(t, s, "cl")
	ns2, err := lab.OpenNetnsPath("again", ns.Path())
	if err != nil {
		t.Fatal(err)
	}
	ns2.Close()
	// The number is free: the next open likely gets it, for another
	// namespace (the host's).
	other, err := os.Open("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ran := false
	err = lab.Do(ns2, func() error { ran = true; return nil })
	if !errors.Is(err, net.ErrClosed) || ran {
		t.Errorf("Do on a closed handle = %v (fn ran: %v), want net.ErrClosed and fn not run", err, ran)
	}
	if ns2.Fd() != -1 {
		t.Errorf("Fd of a closed handle = %d, want -1", ns2.Fd())
	}
	if err := lab.DoInline(ns2, func() error { ran = true; return nil }); !errors.Is(err, net.ErrClosed) || ran {
		t.Errorf("DoInline on a closed handle = %v (fn ran: %v), want net.ErrClosed", err, ran)
	}
	if err := ns2.Close(); err != nil {
		t.Errorf("closing twice: %v", err)
	}
}

// Closing a handle while switches use it never lets a switch land anywhere
// but the handle's namespace: each either runs there or fails as closed.
func TestCloseRacingSwitchesNeverEntersAnotherNamespace(t *testing.T) {
	s := labtest.New(t)
	ns := loNetns(t, s, "race")
	other := loNetns(t, s, "racb")
	for round := range 50 {
		h, err := lab.OpenNetnsPath("h", ns.Path())
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var wrong atomic.Int64
		for range 4 {
			wg.Go(func() {
				for range 20 {
					lab.DoInline(h, func() error {
						var st unix.Stat_t
						unix.Stat("/proc/thread-self/ns/net", &st)
						if st.Ino != ns.Inode() {
							wrong.Add(1)
						}
						return nil
					})
				}
			})
		}
		h.Close()
		// Reuse numbers at once, with another namespace's handles.
		var reuse []*lab.Netns
		for range 4 {
			if r, err := lab.OpenNetnsPath("o", other.Path()); err == nil {
				reuse = append(reuse, r)
			}
		}
		wg.Wait()
		for _, r := range reuse {
			r.Close()
		}
		if n := wrong.Load(); n > 0 {
			t.Fatalf("round %d: %d switches ran outside the handle's namespace", round, n)
		}
	}
	assertThreadsHome(t)
}

// addPlainNetns makes a namespace the way an operator would, with
// `ip netns add`, outside the lab, and removes it after the test.
func addPlainNetns(t testing.TB) string {
	t.Helper()
	labtest.RequireRoot(t)
	name := labtest.Name("acc-")
	labtest.ForeignNetns(t, name)
	return name
}

func TestNamespaceReferences(t *testing.T) {
	s := labtest.New(t)
	labNs := loNetns(t, s, "ref")
	plain := addPlainNetns(t)
	plainIno := labtest.Ino(t, "/run/netns/"+plain)
	// A process in a namespace of its own, reached only through /proc.
	sleeper := labtest.Start(t, "unshare", "--net", "sleep", "30")
	var pidIno uint64
	labtest.Eventually(time.Second, func() bool { // unshare has to exec sleep first
		pidIno = labtest.Ino(t, fmt.Sprintf("/proc/%d/ns/net", sleeper.Process.Pid))
		return pidIno != labtest.SelfNetns(t)
	})
	pid := fmt.Sprintf("pid:%d", sleeper.Process.Pid)
	for _, c := range []struct {
		ref  string
		want uint64
	}{
		{labNs.Name(), labNs.Inode()},
		{plain, plainIno},
		{"/run/netns/" + plain, plainIno},
		{pid, pidIno},
		{fmt.Sprintf("/proc/%d/ns/net", sleeper.Process.Pid), pidIno},
		{"host", labtest.SelfNetns(t)},
	} {
		t.Run(c.ref, func(t *testing.T) {
			ns, err := lab.OpenNetnsRef(c.ref)
			if err != nil {
				t.Fatal(err)
			}
			defer ns.Close()
			if ns.Inode() != c.want {
				t.Errorf("%s opened net:[%d], want net:[%d]", c.ref, ns.Inode(), c.want)
			}
			if ino, err := lab.StatNetnsRef(c.ref); err != nil || ino != c.want {
				t.Errorf("StatNetnsRef(%s) = %d, %v, want %d", c.ref, ino, err, c.want)
			}
			l := labtest.Listen(t, ns, "tcp", "0.0.0.0:0")
			if got := sockNetns(t, l); got != c.want {
				t.Errorf("a listener made through %s is in net:[%d], want net:[%d]", c.ref, got, c.want)
			}
		})
	}
	for _, bad := range []string{"/proc/self/ns/mnt", "/etc/hostname", "pid:0", "pid:x", "rel/path", "/run/netns/../netns/x", "nosuch-" + plain} {
		if ns, err := lab.OpenNetnsRef(bad); err == nil {
			ns.Close()
			t.Errorf("OpenNetnsRef(%q) worked, want an error", bad)
		} else if !errors.Is(err, lab.ErrInvalid) && !errors.Is(err, lab.ErrNotFound) {
			t.Errorf("OpenNetnsRef(%q) = %v, want ErrInvalid or ErrNotFound", bad, err)
		}
	}
	// A pid is pinned, a name followed: after the process is gone the pid
	// no longer resolves.
	sleeper.Process.Kill()
	sleeper.Wait()
	if _, err := lab.StatNetnsRef(pid); !errors.Is(err, lab.ErrNotFound) {
		t.Errorf("StatNetnsRef(%s) after the process exited = %v, want ErrNotFound", pid, err)
	}
	if lab.NetnsRefFollows(pid) || !lab.NetnsRefFollows(plain) || !lab.NetnsRefFollows("/run/netns/"+plain) {
		t.Error("NetnsRefFollows: want names and paths followed, pids pinned")
	}
}

// An IPv6 zone names an interface of the namespace the socket is made in,
// not of the caller's: listen and dial on a link-local address whose
// interface exists only inside the tenant.
func TestIPv6ZoneIsLookedUpInsideTheNamespace(t *testing.T) {
	s := labtest.New(t)
	ns := loNetns(t, s, "zone")
	for _, args := range [][]string{
		{"link", "add", "zz0", "type", "veth", "peer", "zz1"},
		{"link", "set", "zz1", "up"},
		{"link", "set", "zz0", "up"},
		{"addr", "add", "fe80::42/64", "dev", "zz0", "nodad"},
	} {
		labtest.IP(t, append([]string{"-n", lab.SysName(ns.Name())}, args...)...)
	}
	if _, err := net.InterfaceByName("zz0"); err == nil {
		t.Skip("this machine has a zz0 of its own")
	}
	for _, raw := range []bool{false, true} {
		socks := []lab.Socket{{Network: "tcp6", Addr: "[fe80::42%zz0]:0", Raw: raw}}
		if err := lab.BindIn(ns, socks); err != nil {
			t.Fatalf("listen on fe80::42%%zz0 (raw %v) inside %s: %v", raw, ns, err)
		}
		port := 0
		if socks[0].FD() >= 0 {
			sa, _ := unix.Getsockname(socks[0].FD())
			port = sa.(*unix.SockaddrInet6).Port
		} else {
			port = socks[0].Listener.Addr().(*net.TCPAddr).Port
		}
		d := lab.Dialer{Netns: ns, Timeout: 5 * time.Second}
		c, err := d.DialContext(context.Background(), "tcp6", netip.AddrPortFrom(netip.MustParseAddr("fe80::42").WithZone("zz0"), uint16(port)).String())
		if err != nil {
			t.Fatalf("dial fe80::42%%zz0 inside %s: %v", ns, err)
		}
		c.Close()
		socks[0].Close()
	}
}

func init() { lab.RegisterInit("test-probe", probeChild) }

// probeChild switches into a namespace and listens on ":0" there: the
// first use of the net package in this process.
func probeChild() {
	runtime.UnlockOSThread()
	ns, err := lab.OpenNetnsPath("down", os.Args[1])
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	lab.Do(ns, func() error {
		if l, err := net.Listen("tcp", ":0"); err == nil {
			l.Close()
		}
		return nil
	})
}

// The net package asks once per process whether IPv6 and IPv4-mapped
// addresses work (it binds ::1 and 127.0.0.1 on IPv6 sockets) and keeps the
// answer for good. Asked inside a tenant whose loopback is down, ::1 cannot
// be bound there: the probe must run at home, before the first switch.
// strace shows the order of the probe's binds and the setns calls.
func TestIPv6ProbeIsMadeAtHomeBeforeTheFirstSwitch(t *testing.T) {
	s := labtest.New(t)
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skip("needs strace")
	}
	ns := labtest.Netns(t, s, labtest.Name("down"), false) // lo left down
	self, _ := os.Executable()
	// The child's entry point is chosen by argv[0] (see lab.Reexec): bash's
	// exec -a sets it under strace.
	out, err := exec.Command("strace", "-f", "-qq", "-e", "trace=setns,bind", "-e", "signal=none",
		"bash", "-c", `exec -a nslab-test-probe:probe "$0" "$1"`, self, ns.Path()).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	firstSetns, probe := -1, -1
	for i, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.Contains(line, "setns(") && firstSetns < 0:
			firstSetns = i
		case strings.Contains(line, "bind(") && strings.Contains(line, `inet_pton(AF_INET6, "::1"`) && probe < 0:
			probe = i
		}
	}
	if firstSetns < 0 || probe < 0 {
		t.Fatalf("strace shows no setns or no probe of ::1:\n%s", out)
	}
	if probe > firstSetns {
		t.Errorf("the net package probed ::1 after the first setns (inside the tenant):\n%s", out)
	}
}
