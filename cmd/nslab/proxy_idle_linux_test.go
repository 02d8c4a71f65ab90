package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab/proxy"
)

// nslab proxy with many tenants, idle, keeps its threads within
// GOMAXPROCS + 4 (read from /proc/PID/status, as an operator would), even
// with its timer ticking every 20 ms: it does not look at every tenant's
// namespace on a timer (inotify tells it when one moves).
func TestProxyWithManyIdleTenantsKeepsItsThreads(t *testing.T) {
	const n = 300
	s := labtest.New(t)
	dir := t.TempDir()
	base := labtest.Name("idle")
	var names []string
	for i := range n {
		name := fmt.Sprintf("%s-%d", base, i)
		ns, err := s.AddNetns(name)
		if err != nil {
			t.Fatal(err)
		}
		ns.Close()
		if err := s.SetLinkUp("lo", name, true); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	cfg := filepath.Join(dir, "proxy.yaml")
	ctl := filepath.Join(dir, "proxy.sock")
	y := "control: " + ctl + "\nrescan: 20ms\ntenants: [" + strings.Join(names, ", ") + "]\nroutes:\n" +
		"  - name: web\n    listen: \"{tenant}/tcp/127.0.0.1:8080\"\n    target: \"{tenant}/tcp/127.0.0.1:9000\"\n"
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nslabBin(t), "proxy", "--config", cfg, "--log-level", "warn")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	// Serving: every tenant listed on the control socket.
	for i := 0; ; i++ {
		if c, err := proxy.Dial(ctl); err == nil {
			ts, err := c.Tenants()
			if err == nil && len(ts) == n {
				break
			}
		}
		if i == 600 {
			t.Fatalf("the proxy did not serve %d tenants; stderr:\n%s", n, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Settled: start-up's threads given back, and the daemon done
	// reading its count after the trim (3 looks, a second apart).
	time.Sleep(5 * time.Second)
	// Idle, nothing is done per tenant on a timer, so the count never
	// rises: a rescan that woke threads made it swing (6 to 8 here). It
	// may still fall, as the daemon's trim gives threads back. The level
	// is GOMAXPROCS+4 once trimmed, and sometimes one more, a thread made
	// in a start-up burst after the trim (docs/benchmarks.md, the 10 000-
	// tenant section): that one is allowed, a rising count is not.
	limit := runtime.GOMAXPROCS(0) + 5
	var seen []int
	rose := false
	for range 60 { // about 150 ticks of its timer
		st, err := proxy.ReadProcStats(cmd.Process.Pid, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) > 0 && st.Threads > seen[len(seen)-1] {
			rose = true
		}
		seen = append(seen, st.Threads)
		time.Sleep(50 * time.Millisecond)
	}
	if rose || slices.Max(seen) > limit {
		t.Errorf("idle with %d tenants the proxy's threads read %v; want a count that never rises, at most GOMAXPROCS+5 = %d", n, seen, limit)
	}
}
