package lab_test

import (
	"fmt"
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

// A burst of blocking syscalls leaves threads parked for good; TrimThreads
// gives them back to the kernel, and the process keeps working after.
func TestTrimThreadsEndsThreadsLeftByABurst(t *testing.T) {
	burst := func() {
		var wg sync.WaitGroup
		for range 24 {
			wg.Go(func() {
				// select(2) with a timeout holds its thread: the
				// runtime hands the P to another thread meanwhile.
				unix.Select(0, nil, nil, nil, &unix.Timeval{Usec: 30000})
			})
		}
		wg.Wait()
	}
	burst()
	// TrimThreads changes nothing process-wide: GOMAXPROCS stays what it
	// is all along, not only after.
	stop, changed := make(chan struct{}), make(chan int, 1)
	go func() {
		for {
			select {
			case <-stop:
				changed <- 0
				return
			default:
			}
			if n := runtime.GOMAXPROCS(0); n != gmpAtStart {
				changed <- n
				return
			}
			runtime.Gosched()
		}
	}()
	before, after := lab.TrimThreads(0)
	close(stop)
	if n := <-changed; n != 0 {
		t.Errorf("GOMAXPROCS was %d during TrimThreads, want %d throughout", n, gmpAtStart)
	}
	t.Logf("after a burst of 24 blocking syscalls: %d threads, trimmed to %d (GOMAXPROCS %d)", before, after, runtime.GOMAXPROCS(0))
	if before < 12 {
		t.Fatalf("the burst left only %d threads; the test needs a burst that makes threads", before)
	}
	// GOMAXPROCS + 4: the runtime's own (sysmon, the template thread), the
	// main thread and one in the netpoller; plus one that the last round's
	// hand-off of a P may leave, which the daemon's policy (trimming with
	// one P, lab/proxy) avoids and a library must not. On a loaded machine
	// a hand-off may find no idle thread and make one (8 read once under
	// -race in CI): the daemon tries again then, and so does this test,
	// once.
	limit := runtime.GOMAXPROCS(0) + 5
	if after > limit {
		_, again := lab.TrimThreads(0)
		t.Logf("%d threads after the first trim; %d after a second", after, again)
		after = again
	}
	if after > limit {
		t.Errorf("%d threads after two trims, want at most GOMAXPROCS+5 = %d", after, limit)
	}
	// Still works: namespace switches and more bursts.
	burst()
	if b, a := lab.TrimThreads(0); a >= b {
		t.Errorf("a second trim did nothing: %d → %d", b, a)
	}
	if got := runtime.GOMAXPROCS(0); got != gmpAtStart {
		t.Errorf("GOMAXPROCS is %d after trimming, was %d", got, gmpAtStart)
	}
}

var gmpAtStart = runtime.GOMAXPROCS(0)

// Keep is a floor: at or under it, nothing is trimmed.
func TestTrimThreadsKeepsWhatItIsAskedToKeep(t *testing.T) {
	keep := lab.Threads() + 8
	if b, a := lab.TrimThreads(keep); a != b {
		t.Errorf("TrimThreads(%d) went from %d to %d threads", keep, b, a)
	}
}

func init() { lab.RegisterInit("test-offmain", offMainChild) }

// offMainChild is a process whose main goroutine is not locked (like nslab
// itself and its workers): it runs 300 switches from many goroutines and
// trims threads in between, and prints how many switched functions ran on
// the main thread (the runtime could never end that thread).
func offMainChild() {
	runtime.UnlockOSThread() // the test binary locks it in init
	ns, err := lab.OpenNetnsPath("self", "/proc/self/ns/net")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	var onMain atomic.Int64
	var wg sync.WaitGroup
	for i := range 300 {
		wg.Go(func() {
			lab.Do(ns, func() error {
				if unix.Gettid() == unix.Getpid() {
					onMain.Add(1)
				}
				return nil
			})
		})
		if i%50 == 0 {
			lab.TrimThreads(0)
		}
	}
	wg.Wait()
	fmt.Println("on main:", onMain.Load())
}

func TestNamespaceSwitchNeverRunsOnAnUnlockedMainThread(t *testing.T) {
	out, err := lab.Reexec("test-offmain", "offmain").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "on main: 0" {
		t.Errorf("child said %q, want %q", got, "on main: 0")
	}
}

// Threads counts what the kernel says: /proc/self/status's Threads: line,
// with threads held in blocking calls and with them gone again (the
// count is read with raw system calls, parsing directory entries itself).
func TestThreadsCountsWhatTheKernelSays(t *testing.T) {
	status := func() int {
		th, ok := labtest.StatusField(unix.Getpid(), "Threads")
		if !ok {
			t.Fatal("no Threads: line in /proc/self/status")
		}
		return int(th)
	}
	// Threads come and go between two reads; take a pair that agrees.
	agree := func(what string) int {
		var got, want int
		for range 50 {
			if got, want = lab.Threads(), status(); got == want {
				return got
			}
		}
		t.Fatalf("%s: lab.Threads() = %d, /proc/self/status says %d", what, got, want)
		return 0
	}
	agree("at rest")
	release := make(chan struct{})
	var held sync.WaitGroup
	for range 40 {
		held.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			<-release
		})
	}
	// 40 threads locked, the main thread (locked by TestMain) and sysmon.
	const want = 42
	for deadline := time.Now().Add(5 * time.Second); lab.Threads() < want && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if n := agree("with 40 locked goroutines"); n < want {
		t.Errorf("with 40 goroutines locked to their threads: %d threads, want at least %d", n, want)
	}
	close(release)
	held.Wait()
}
