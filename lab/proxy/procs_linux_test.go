package proxy

import (
	"context"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"
)

// The Ps follow the CPU the process keeps busy: up one per look while
// the ones it has are busy, down one after a calm second, one when quiet,
// never above what the process may use.
func TestProcScaleFollowsTheLoad(t *testing.T) {
	var sets []int
	s := &procScale{max: 4, cur: 4, set: func(n int) { sets = append(sets, n) }}
	s.quiet()
	if s.cur != 1 {
		t.Fatalf("quiet: %d Ps, want 1", s.cur)
	}
	at, cpu := time.Unix(0, 0), time.Duration(0)
	look := func(busy float64) int {
		at = at.Add(tidyQuiet)
		cpu += time.Duration(busy * float64(tidyQuiet))
		s.look(at, cpu)
		return s.cur
	}
	if n := look(0.9); n != 1 {
		t.Fatalf("the first look after quiet only sets the baseline: %d Ps, want 1", n)
	}
	for i, c := range []struct {
		busy float64
		want int
	}{
		{0.4, 1}, // fits in one
		{0.6, 2}, // one more than half busy: two
		{1.1, 3},
		{1.6, 4},
		{3.9, 4}, // no more than the process may use
		{1.2, 4}, // would fit in three, but at 40% each
	} {
		if n := look(c.busy); n != c.want {
			t.Fatalf("look %d at %.1f CPUs busy: %d Ps, want %d", i, c.busy, n, c.want)
		}
	}
	for i := range procsCalm - 1 {
		if n := look(1.0); n != 4 {
			t.Fatalf("calm look %d: %d Ps, want 4 until a second is calm", i, n)
		}
	}
	if n := look(1.0); n != 3 {
		t.Fatalf("after %d calm looks: %d Ps, want 3", procsCalm, n)
	}
	look(0.7) // between the lines (0.7 of 2 at 35%, 1.5 of 3 at 50%): stays, and starts the count over
	look(1.5)
	for range procsCalm - 1 {
		look(0.1)
	}
	if s.cur != 4 {
		t.Fatalf("a look at 1.5 of 3 then %d calm: %d Ps, want 4", procsCalm-1, s.cur)
	}
	if want := []int{1, 2, 3, 4, 3, 4}; !slices.Equal(sets, want) {
		t.Fatalf("GOMAXPROCS set to %v, want %v", sets, want)
	}
}

// A daemon run from a library (Run) with ScaleProcs takes the process to
// one P once quiet, and gives GOMAXPROCS back as it found it on return.
func TestScaleProcsGivesGOMAXPROCSBackOnReturn(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	if before < 2 {
		t.Skip("one CPU: nothing to scale")
	}
	r, err := ParseRouteFlag("host/tcp/127.0.0.1:0=host/tcp/127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Control: filepath.Join(t.TempDir(), "p.sock"), Routes: []Route{r}, ScaleProcs: true})
	}()
	for deadline := time.Now().Add(10 * time.Second); runtime.GOMAXPROCS(0) != 1; {
		select {
		case err := <-done:
			t.Fatalf("the daemon returned at once: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("GOMAXPROCS still %d 10 s after the daemon started; want 1 once quiet", runtime.GOMAXPROCS(0))
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := runtime.GOMAXPROCS(0); n != before {
		t.Errorf("GOMAXPROCS %d after Run returned, want %d as before", n, before)
	}
}
