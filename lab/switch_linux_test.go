package lab_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

func TestDoRunsInsideAndEveryThreadComesBack(t *testing.T) {
	s := labtest.New(t)
	ns := labtest.Netns(t, s, labtest.Name("sw"), false)

	var wg sync.WaitGroup
	var mu sync.Mutex
	inside := map[uint64]int{}
	for range 200 {
		wg.Go(func() {
			err := lab.Do(ns, func() error {
				var st unix.Stat_t
				unix.Stat("/proc/thread-self/ns/net", &st)
				mu.Lock()
				inside[st.Ino]++
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if inside[ns.Inode()] != 200 || len(inside) != 1 {
		t.Fatalf("fn ran in namespaces %v, want all 200 in %d", inside, ns.Inode())
	}
	assertThreadsHome(t) // after Do
}

func TestDoReturnsErrorsAndRepanicsOnTheCaller(t *testing.T) {
	s := labtest.New(t)
	ns := labtest.Netns(t, s, labtest.Name("sw"), false)
	want := errors.New("boom")
	if err := lab.Do(ns, func() error { return want }); !errors.Is(err, want) {
		t.Errorf("Do returned %v, want fn's error", err)
	}
	func() {
		defer func() {
			if r := recover(); r != "in the namespace" {
				t.Errorf("recovered %v, want the panic raised inside", r)
			}
		}()
		lab.Do(ns, func() error { panic("in the namespace") })
	}()
	assertThreadsHome(t) // after a panic inside Do
}

func TestOpenNetnsSaysWhatIsMissing(t *testing.T) {
	labtest.RequireRoot(t)
	_, err := lab.OpenNetns(labtest.Name("nope"))
	if !errors.Is(err, lab.ErrNotFound) {
		t.Fatalf("OpenNetns of a missing namespace: %v", err)
	}
	// A stale file (not an nsfs mount) is not a namespace.
	p := filepath.Join(lab.NetnsDir, "nslab-"+labtest.Name("stale"))
	os.MkdirAll(lab.NetnsDir, 0o755)
	os.WriteFile(p, nil, 0o444)
	defer os.Remove(p)
	if _, err := lab.OpenNetns(filepath.Base(p)); !errors.Is(err, lab.ErrNotFound) {
		t.Fatalf("OpenNetns of a stale file: %v", err)
	}
}

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
	host := labtest.SelfNetns(t)
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

	// The stuck thread exits with its goroutine.
	waitNoThreadIn(t, ns, "a failed restore")

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

// waitNoThreadIn waits (bounded) until no thread of this process is left
// in ns, after what (a failed restore) ended the one that was.
func waitNoThreadIn(t testing.TB, ns *lab.Netns, what string) {
	t.Helper()
	for i := 0; ; i++ {
		stuck := 0
		for _, ino := range labtest.ThreadNetns() {
			if ino == ns.Inode() {
				stuck++
			}
		}
		if stuck == 0 {
			return
		}
		if i == 200 {
			t.Fatalf("%d thread(s) still in %s after %s", stuck, ns, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkDo measures one namespace switch round trip through Do.
func BenchmarkDo(b *testing.B) {
	s := labtest.New(b)
	ns := labtest.Netns(b, s, labtest.Name("bd"), false)
	b.ResetTimer()
	for range b.N {
		if err := lab.Do(ns, func() error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// A handle reopened from a socket is the socket's namespace (readlink of
// the new descriptor says so, not the handle it was "like"), and entering
// it lands there; a descriptor that is no socket is refused, saying why.
func TestReopenNetnsOfSocketOpensTheSocketsNamespace(t *testing.T) {
	s := labtest.New(t)
	ns := labtest.Netns(t, s, labtest.Name("ro"), true)
	l := labtest.Listen(t, ns, "tcp", "127.0.0.1:0")
	raw, err := l.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var want string // net:[INODE]
	if err := lab.Do(ns, func() (err error) {
		want, err = os.Readlink("/proc/thread-self/ns/net")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var again *lab.Netns
	raw.Control(func(fd uintptr) { again, err = lab.ReopenNetnsOfSocket(ns, int(fd)) })
	if err != nil {
		t.Fatalf("reopen from the listener: %v", err)
	}
	defer again.Close()
	got, err := os.Readlink(filepath.Join("/proc/self/fd", strconv.Itoa(again.Fd())))
	if err != nil || got != want || again.Fd() == ns.Fd() {
		t.Fatalf("reopened handle: fd %d -> %q (%v), want a new fd -> %q", again.Fd(), got, err, want)
	}
	var inside string
	if err := lab.Do(again, func() error {
		inside, err = os.Readlink("/proc/thread-self/ns/net")
		return err
	}); err != nil || inside != want {
		t.Errorf("entered the reopened handle: in %q (%v), want %q", inside, err, want)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if _, err := lab.ReopenNetnsOfSocket(ns, int(r.Fd())); err == nil || !strings.Contains(err.Error(), "SIOCGSKNS") {
		t.Errorf("reopen from a pipe: %v, want an error naming SIOCGSKNS", err)
	}
}
