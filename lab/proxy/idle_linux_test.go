package proxy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/lab/proxy"
)

// An idle proxy wakes for nothing: after traffic, and the tidy that
// follows it, no timer and no poll runs, so none of its threads is
// scheduled. Judged by the kernel's count of each thread's context
// switches (/proc/PID/task/TID/status): a thread that wakes, switches.
// The daemon's tidy used to look at the counters every second, which woke
// the process, and the runtime's monitor with it, once a second or more.
func TestIdleProxyWakesForNothing(t *testing.T) {
	w := newWorld(t, 10, true)
	// Rescan -1: no watch on /run/netns, where the other packages' tests
	// make and remove namespaces while this one runs (each one a wake-up,
	// and rightly so, for a proxy that follows names).
	c, proc, err := proxy.StartWorker(w.s, "idle-wake", proxy.Config{Routes: tenantRoutes(), Tenants: w.names, Rescan: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.s.Stop("idle-wake", 10*time.Second)
	defer c.Close()
	for _, name := range w.names {
		if err := ask(w.nss[name], name); err != nil {
			t.Fatalf("tenant %s: %v", name, err)
		}
	}
	// The tidy: quiet for 100 ms, then a trim and 3 looks at the thread
	// count, a second apart. Then nothing, however long it is watched.
	idleThreads(t, proc.PID, runtime.GOMAXPROCS(0)+4)
	time.Sleep(5 * time.Second)
	for try := 0; ; try++ {
		before := switches(t, proc.PID)
		time.Sleep(3 * time.Second)
		after := switches(t, proc.PID)
		woke := wakeups(before, after)
		if len(woke) == 0 {
			return
		}
		// The runtime's own: a forced GC every 2 minutes and the scavenger
		// after it may fall in a window; they do not come back 3 s later.
		if try == 2 {
			t.Fatalf("an idle proxy's threads woke in each of 3 windows of 3 s; the last: %s", strings.Join(woke, ", "))
		}
	}
}

// switches reads each thread's voluntary and involuntary context switches.
func switches(t *testing.T, pid int) map[string]int {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join(fmt.Sprintf("/proc/%d/task", pid), task.Name(), "status"))
		if err != nil {
			continue // ended meanwhile
		}
		n := 0
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && strings.HasSuffix(k, "ctxt_switches") {
				x, _ := strconv.Atoi(strings.TrimSpace(v))
				n += x
			}
		}
		out[task.Name()] = n
	}
	return out
}

// wakeups names the threads that switched between two reads (a thread
// new in the second read woke too).
func wakeups(before, after map[string]int) []string {
	var woke []string
	for tid, n := range after {
		if m, ok := before[tid]; !ok || n != m {
			woke = append(woke, fmt.Sprintf("thread %s: %d switches", tid, n-m))
		}
	}
	return woke
}
