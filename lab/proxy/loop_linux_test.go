package proxy

import (
	"runtime"
	"testing"
)

// An event loop that always has more to do lets the other goroutines of
// its P run after each batch of events, instead of holding the P until
// the Go runtime preempts it 10 ms later. Under load this is the other
// loop, readied by the netpoller with the events it found while this
// one ran: its connections would wait those 10 ms (the keep-alive p99
// that nslab lost to HAProxy, docs/proxy.md).
//
// On one P, a loop kept busy for good (each batch posts the next) and
// this goroutine take turns: between this goroutine's yield and its
// return, the loop may handle a batch, not the thousands it handles in
// 10 ms.
func TestABusyLoopLetsOthersRun(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	l, err := newLoop(&Proxy{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.stop()
	stop := make(chan struct{})
	var again func()
	again = func() {
		select {
		case <-stop:
		default:
			l.post(again)
		}
	}
	l.post(again)
	defer close(stop)
	for l.turns.Load() < 100 {
		runtime.Gosched()
	}
	most := uint64(0)
	for range 100 {
		before := l.turns.Load()
		runtime.Gosched()
		most = max(most, l.turns.Load()-before)
	}
	t.Logf("at most %d batches of the busy loop before this goroutine ran again", most)
	if most > 4 {
		t.Errorf("the loop handled %d batches in a row while another goroutine waited for the P; want at most 4", most)
	}
}
