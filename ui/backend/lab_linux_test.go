package backend

import (
	"context"
	"os/exec"
	"slices"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/ui"
)

func TestMain(m *testing.M) { labtest.Main(m) }

// steps drives a lesson the way the TUI does and returns every event.
func runStep(l *Lab, id string, step int) []ui.Event {
	ev := make(chan ui.Event, 64)
	go l.RunStep(context.Background(), id, step, 0, ev)
	var out []ui.Event
	for e := range ev {
		out = append(out, e)
	}
	return out
}

func TestTheTUIBackendRunsALessonAndThePrompt(t *testing.T) {
	s := labtest.New(t)
	l := NewLab(s)
	defer l.Close()
	i := slices.IndexFunc(l.Scenarios(), func(sc ui.Scenario) bool { return sc.ID == "hello" })
	if i < 0 {
		t.Fatal("hello is not in the catalog the UI sees")
	}
	sc := l.Scenarios()[i]
	if len(sc.Steps) != 3 || sc.Steps[0].Commands[0].Sh != "ip netns add nslab-demo" {
		t.Fatalf("steps as the UI sees them: %+v", sc.Steps)
	}
	evs := runStep(l, "hello", 0)
	var checks, oks int
	for _, e := range evs {
		if e.Kind == ui.CheckDone {
			checks++
			if e.OK {
				oks++
			}
		}
		if e.Kind == ui.CommandDone && e.Err != nil {
			t.Fatalf("command failed: %v", e.Err)
		}
	}
	if checks != 2 || oks != 2 {
		t.Fatalf("step 1: %d checks, %d ok; events %+v", checks, oks, evs)
	}
	// The hands-on step: the learner acts in another terminal.
	if err := exec.Command("ip", "-n", "nslab-demo", "link", "set", "lo", "up").Run(); err != nil {
		t.Fatal(err)
	}
	for _, e := range runStep(l, "hello", 1) {
		if e.Kind == ui.CheckDone && !e.OK {
			t.Fatalf("hands-on check after the learner's command: %s", e.Detail)
		}
	}
	// Jumping to step 3 rebuilds steps 1 and 2 from a clean lab.
	if err := l.Prepare(context.Background(), "hello", 2); err != nil {
		t.Fatal(err)
	}
	for _, e := range runStep(l, "hello", 2) {
		if (e.Kind == ui.CheckDone && !e.OK) || (e.Kind == ui.CommandDone && e.Err != nil) {
			t.Fatalf("step 3 after Prepare: %+v", e)
		}
	}
	// The prompt: a typo gets its column, completion knows the lab's names.
	if r := l.Exec(context.Background(), "link sett lo up -n demo"); r.Err == nil || r.Col != 6 {
		t.Errorf("typo at the prompt: err %v col %d, want column 6", r.Err, r.Col)
	}
	if r := l.Exec(context.Background(), "expect link lo -n demo up"); r.Err != nil || !r.Check || !r.OK {
		t.Errorf("check at the prompt: %+v", r)
	}
	if c := l.Complete("netns d", 7); !slices.Equal(c, []string{"del"}) {
		t.Errorf("completing `netns d`: %v", c)
	}
	if c := l.Complete("ping 10.0.0.1 -n de", 19); !slices.Contains(c, "demo") {
		t.Errorf("completing a namespace name: %v", c)
	}
}
