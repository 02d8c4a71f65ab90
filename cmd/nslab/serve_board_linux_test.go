package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// The instructor, over SSH: moves the room to a step (ssh instructor@HOST
// move), sees both learners there on the board, follows one read-only
// (keys typed while following do not reach the learner), and comes back.
func TestTheBoardOverSSHMovesAndFollows(t *testing.T) {
	r := startRoom(t, 2)
	r.joinAll(t, "cara", "dan")

	// Bad input is refused with the reason, and moves nobody.
	sess, _ := r.boss.NewSession()
	out, err := sess.CombinedOutput("move veth three")
	if err == nil || !strings.Contains(string(out), `"three" is not a step number`) {
		t.Errorf("move veth three: %v %q; want a usage error", err, out)
	}
	sess, _ = r.boss.NewSession()
	out, err = sess.CombinedOutput("move no-such-lesson 1")
	if err == nil || !strings.Contains(string(out), "no lesson") {
		t.Errorf("move no-such-lesson 1: %v %q; want an error naming the lessons", err, out)
	}
	veth, err := catalogLesson("veth")
	if err != nil {
		t.Fatal(err)
	}
	n := len(veth.Steps)
	sess, _ = r.boss.NewSession()
	out, err = sess.CombinedOutput(fmt.Sprintf("move veth %d", n+1))
	if err == nil || !strings.Contains(string(out), fmt.Sprintf("veth has %d steps: move veth 1 to %d", n, n)) {
		t.Errorf("move veth %d: %v %q; want an error giving the steps", n+1, err, out)
	}

	sess, _ = r.boss.NewSession()
	out, err = sess.CombinedOutput("move veth 2")
	if err != nil || !strings.Contains(string(out), "moved 2 learner(s) to veth, step 2") {
		t.Fatalf("move veth 2: %v %q", err, out)
	}
	for _, n := range []string{"cara", "dan"} {
		if _, err := r.waitLearner(t, n, "veth step 2", 60*time.Second, func(l learnerJSON) bool {
			return l.Lesson == "veth" && l.Step == 2 && !l.Running
		}); err != nil {
			t.Fatal(err)
		}
	}

	// The board on a terminal.
	b, err := joinRoom(r.addr, instructorUser, testInstructorCode)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	waitTail := func(what string, cond func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond(b.screenTail()) {
			if time.Now().After(deadline) {
				t.Fatalf("the board never showed %s:\n%s", what, b.screenTail())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	at := fmt.Sprintf("2/%d", n)
	waitTail("both learners in veth "+at, func(s string) bool {
		return strings.Contains(s, "2 learner(s), 2 connected, 0 stuck") && strings.Contains(s, "cara") &&
			strings.Contains(s, "dan") && strings.Count(s, at) >= 2
	})

	// Follow the first row (cara): her screen, at step 2, repainted whole
	// (so looked for in all that came since, not the last lines only).
	b.mu.Lock()
	b.tail = nil
	b.mu.Unlock()
	b.send("\r")
	sinceFollow := func() (raw, text string) {
		b.mu.Lock()
		defer b.mu.Unlock()
		return string(b.tail), ansi.Strip(string(b.tail))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		raw, text := sinceFollow()
		if strings.Contains(raw, "following cara") && strings.Contains(text, "Make the pair, move one end in") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("following cara never showed her step 2:\n%s", text)
		}
		time.Sleep(100 * time.Millisecond)
	}
	before, _ := r.status(t).learner("cara")
	b.send("\r") // would run cara's step, were the board not read-only
	time.Sleep(3 * time.Second)
	if after, _ := r.status(t).learner("cara"); after.Running || after.StepPassed || after.StepFailed || after.Passed != before.Passed {
		t.Errorf("a key typed while following reached cara: before %+v, after %+v", before, after)
	}
	b.send("q")
	b.mu.Lock()
	b.tail = nil
	b.mu.Unlock()
	waitTail("the board again", func(s string) bool { return strings.Contains(s, "learner(s), 2 connected") })
}
