package room

import (
	"testing"
	"time"
)

// Stuck is a step failing for the room's Stuck or longer, nothing else: a
// learner reading a lesson's introduction, weighing a prediction or
// waiting on a hands-on step's check (the step not run, or running) is
// never stuck however long it takes; a failure is, once old enough; a new
// step starts the count again.
func TestStuckIsAStepFailingLongEnoughOnly(t *testing.T) {
	r := &Room{opt: Options{Stuck: time.Minute}, changed: make(chan struct{})}
	l := &Learner{room: r}
	long := time.Now().Add(-10 * time.Minute)
	for _, c := range []struct {
		what  string
		st    Status
		at    time.Time
		stuck bool
	}{
		{"the introduction, then a prediction, 10 minutes", Status{Lesson: "hello", Step: 0, Steps: 4}, long, false},
		{"a hands-on step's check waiting", Status{Lesson: "hello", Step: 1, Steps: 4, Running: true}, long, false},
		{"a step failing for 10 minutes", Status{Lesson: "hello", Step: 1, Steps: 4, StepFailed: true}, long, true},
		{"the same step, still failing", Status{Lesson: "hello", Step: 1, Steps: 4, StepFailed: true, Failed: 2}, time.Now(), true},
		{"the step failing just now", Status{Lesson: "hello", Step: 2, Steps: 4, StepFailed: true}, time.Now(), false},
		{"passed", Status{Lesson: "hello", Step: 2, Steps: 4, StepPassed: true}, time.Now(), false},
	} {
		l.report(c.st, c.at)
		if got := l.Info().Stuck; got != c.stuck {
			t.Errorf("%s: stuck %v, want %v", c.what, got, c.stuck)
		}
	}
}
