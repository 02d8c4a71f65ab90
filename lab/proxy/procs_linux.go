package proxy

import (
	"math"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// procScale is the daemon's CPU policy (scale_procs): Go runs on as many
// CPUs at once (GOMAXPROCS) as the traffic keeps busy, one while one is
// enough, up to what the process may use when its load needs them.
//
// A burst starts on every CPU, as the runtime would have it; the first
// look, 100 ms in, sets the Ps the load needs; then one more at each look
// that finds them nearly full (85 %), one fewer after a calm second. Where
// the loops find much to do at each wake-up (a batch of events costs
// longBatch of CPU or more: new connections, each two sockets and the
// handshake with the backend, which on loopback the kernel runs inside the
// proxy's connect), a P is added at half busy instead: the second P's
// wake-ups are a small part of such a batch, and the loops' work then runs
// on two CPUs at once. Quiet, the daemon goes back to every CPU: the
// thread trim that follows reaches its floor (GOMAXPROCS + 4) reliably
// there, and on one P it did not (a thread ended while the only other
// waited in the netpoller was made again: 5 to 8 threads were left at
// 10 000 tenants, where 6 is the goal).
//
// Why: with a P idle, every wake-up of an event loop makes the Go
// scheduler wake a second thread to look for work, which finds none and
// sleeps again: two context switches that serve nobody, and a fifth of the
// proxy's CPU per new connection on this VM (docs/proxy.md, "Where the
// time goes"). One P has no idle P to wake. Measured side by side in one
// bench run, CPU per new connection at 1000 a second: 185 µs against 245
// with scale_procs off at 10 tenants, 240 against 300 at 1000
// (docs/proxy.md, "As many CPUs as the traffic keeps busy").
//
// The event loops stay one per CPU the process may use (Proxy.cpus), so
// a P added under load has a loop to run.
type procScale struct {
	max, cur int
	calm     int           // looks in a row that wanted one fewer
	fresh    bool          // the next look is the first of a burst: it sets the Ps outright
	cpu      time.Duration // the process's CPU time at the last look
	batches  uint64        // the event loops' batches of events at the last look
	at       time.Time     // when; zero: no look since the daemon was quiet
	set      func(int)     // runtime.GOMAXPROCS in the daemon
}

const (
	// One more P when the process kept procsUp of its Ps busy over a
	// look. A second P costs more than it gives until one is nearly
	// full: under keep-alive load that kept 0.6 of a CPU busy, one P
	// served it with 19-20 µs of CPU a request and a p99 of 0.8-0.9x
	// HAProxy's, two Ps with 22-25 µs and 1.0-1.2x (2026-12-05; at
	// procsUp 0.5 the load took two). One fewer after procsCalm looks
	// in a row that would have fitted in one fewer at procsDown of each
	// (a gap, so that a load near the line does not flap).
	procsUp   = 0.85
	procsDown = 0.6
	procsCalm = 10 // a second, at tidyQuiet a look

	// Batches of events that cost longBatch of CPU or more on average
	// take a P at procsUpLong busy, and give it back below
	// procsDownLong. Measured at the bench's loads (2026-12-05, 10 and
	// 1000 tenants, every look logged): keep-alive requests cost 41-99
	// µs a batch, new connections 95-237. Under new connections at full
	// rate, one P served 5-13 % fewer of them a second than two (and
	// HAProxy), at 0.7 of a CPU busy.
	longBatch     = 120 * time.Microsecond
	procsUpLong   = 0.5
	procsDownLong = 0.35
)

// newProcScale returns the policy for this process, or nil where it does
// not apply: GOMAXPROCS set in the environment is the operator's choice,
// and with one CPU there is nothing to choose.
func newProcScale() *procScale {
	n := runtime.GOMAXPROCS(0)
	if os.Getenv("GOMAXPROCS") != "" || n == 1 {
		return nil
	}
	return &procScale{max: n, cur: n, fresh: true, set: func(n int) { runtime.GOMAXPROCS(n) }}
}

// want is how many Ps the load of the last look asks for, given that it
// kept used CPUs busy (CPU time over wall time) and cost perBatch of CPU
// for each batch of events the loops handled.
func (s *procScale) want(used float64, perBatch time.Duration) int {
	up, down := procsUp, procsDown
	if perBatch >= longBatch {
		up, down = procsUpLong, procsDownLong
	}
	if s.fresh {
		s.fresh, s.calm = false, 0
		return min(s.max, max(1, int(math.Ceil(used/up))))
	}
	switch {
	case used >= up*float64(s.cur) && s.cur < s.max:
		s.calm = 0
		return s.cur + 1
	case s.cur > 1 && used < down*float64(s.cur-1):
		if s.calm++; s.calm >= procsCalm {
			s.calm = 0
			return s.cur - 1
		}
	default:
		s.calm = 0
	}
	return s.cur
}

// look measures the CPU the process used since the last look, at now,
// and the batches of events its loops handled (batches, a running count),
// and sets the Ps they ask for. The tidy looks every tidyQuiet while
// traffic moves, and never while the daemon is quiet.
func (s *procScale) look(now time.Time, cpu time.Duration, batches uint64) {
	if !s.at.IsZero() {
		if wall := now.Sub(s.at); wall > 0 {
			var perBatch time.Duration
			if n := batches - s.batches; n > 0 {
				perBatch = (cpu - s.cpu) / time.Duration(n)
			}
			s.apply(s.want(float64(cpu-s.cpu)/float64(wall), perBatch))
		}
	}
	s.cpu, s.batches, s.at = cpu, batches, now
}

// quiet is the daemon gone quiet: every CPU, as at the start of a burst.
func (s *procScale) quiet() {
	s.apply(s.max)
	s.calm, s.at, s.fresh = 0, time.Time{}, true
}

func (s *procScale) apply(n int) {
	if n != s.cur {
		s.cur = n
		s.set(n)
	}
}

// processCPU is the CPU time, user and system, of every thread of this
// process so far.
func processCPU() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
