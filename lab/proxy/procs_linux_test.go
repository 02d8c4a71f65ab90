package proxy

import (
	"context"
	"net"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"
)

// The Ps follow the CPU the process keeps busy: a burst starts on every
// CPU and its first look sets what the load needs; then up one per look
// while the ones it has are half busy, down one after a calm second,
// never above what the process may use; every CPU again once quiet.
func TestProcScaleFollowsTheLoad(t *testing.T) {
	var sets []int
	s := &procScale{max: 4, cur: 4, fresh: true, set: func(n int) { sets = append(sets, n) }}
	at, cpu, batches := time.Unix(0, 0), time.Duration(0), uint64(0)
	look := func(busy float64) int {
		at = at.Add(tidyQuiet)
		used := time.Duration(busy * float64(tidyQuiet))
		cpu += used
		batches += uint64(used / (60 * time.Microsecond)) // keep-alive requests' batches
		s.look(at, cpu, batches)
		return s.cur
	}
	if n := look(3.0); n != 4 {
		t.Fatalf("the first look only takes the baseline: %d Ps, want 4", n)
	}
	for i, c := range []struct {
		busy float64
		want int
	}{
		{0.2, 1}, // the first measured look: what the load needs, at once
		{0.8, 1}, // fits in one
		{0.9, 2}, // one nearly full: two
		{1.8, 3},
		{2.6, 4},
		{3.9, 4}, // no more than the process may use
		{2.0, 4}, // would fit in three, but at 67% each
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
	look(1.5) // between the lines (one fewer below 1.2, one more from 2.55): stays, and starts the count over
	look(2.6)
	for range procsCalm - 1 {
		look(0.1)
	}
	if s.cur != 4 {
		t.Fatalf("a look at 2.6 of 3 then %d calm: %d Ps, want 4", procsCalm-1, s.cur)
	}
	s.quiet()
	look(0.1) // baseline
	if n := look(2.0); n != 3 {
		t.Fatalf("after quiet, a burst's first look at 2.0 busy: %d Ps, want 3", n)
	}
	if want := []int{1, 2, 3, 4, 3, 4, 3}; !slices.Equal(sets, want) {
		t.Fatalf("GOMAXPROCS set to %v, want %v", sets, want)
	}
}

// Loops that find much to do at each wake-up (new connections: a batch
// costs longBatch of CPU or more) take a P at half busy, and keep it down
// to procsDownLong; light batches at the same load stay on one P.
func TestProcScaleGivesLongBatchesASecondPEarlier(t *testing.T) {
	var sets []int
	s := &procScale{max: 2, cur: 2, fresh: true, set: func(n int) { sets = append(sets, n) }}
	at, cpu, batches := time.Unix(0, 0), time.Duration(0), uint64(0)
	look := func(busy float64, perBatch time.Duration) int {
		at = at.Add(tidyQuiet)
		used := time.Duration(busy * float64(tidyQuiet))
		cpu += used
		batches += uint64(used / perBatch)
		s.look(at, cpu, batches)
		return s.cur
	}
	const light, heavy = 80 * time.Microsecond, 180 * time.Microsecond
	look(0.7, light) // the baseline
	for i, c := range []struct {
		busy     float64
		perBatch time.Duration
		want     int
	}{
		{0.7, light, 1}, // a burst of keep-alive requests: one P carries it
		{0.7, light, 1},
		{0.7, heavy, 2}, // the same CPU in new connections: two
		{0.5, heavy, 2}, // above procsDownLong: kept
		{0.5, light, 2}, // light again, but within the calm second's count
	} {
		if n := look(c.busy, c.perBatch); n != c.want {
			t.Fatalf("look %d at %.1f busy, %v a batch: %d Ps, want %d", i, c.busy, c.perBatch, n, c.want)
		}
	}
	for range procsCalm - 1 {
		look(0.3, heavy) // below procsDownLong
	}
	if s.cur != 1 {
		t.Fatalf("after a calm second of heavy batches at 0.3 busy: %d Ps, want 1", s.cur)
	}
	s.quiet()        // every CPU: 2
	look(0.1, heavy) // baseline
	if n := look(0.6, heavy); n != 2 {
		t.Fatalf("a burst of new connections, first look at 0.6 busy: %d Ps, want 2", n)
	}
	if want := []int{1, 2, 1, 2}; !slices.Equal(sets, want) {
		t.Fatalf("GOMAXPROCS set to %v, want %v", sets, want)
	}
}

// A daemon run from a library (Run) with ScaleProcs runs on one P under
// light traffic, and gives GOMAXPROCS back as it found it on return.
func TestScaleProcsGivesGOMAXPROCSBackOnReturn(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	if before < 2 {
		t.Skip("one CPU: nothing to scale")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r, err := ParseRouteFlag("host/tcp/" + addr + "=host/tcp/127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Control: filepath.Join(t.TempDir(), "p.sock"), Routes: []Route{r}, ScaleProcs: true})
	}()
	// A client every 10 ms (each refused upstream): a load one P carries.
	for deadline := time.Now().Add(10 * time.Second); runtime.GOMAXPROCS(0) != 1; {
		select {
		case err := <-done:
			t.Fatalf("the daemon returned at once: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("GOMAXPROCS still %d after 10 s of a client every 10 ms; want 1", runtime.GOMAXPROCS(0))
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
