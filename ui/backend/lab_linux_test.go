package backend

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	// hello's own namespace name is fixed (demo); other packages run it at
	// the same time, so this test runs a copy under a name of its own.
	demo := labtest.Name("demo")
	b, err := os.ReadFile("../../scenarios/hello.md")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.ReplaceAll(strings.ReplaceAll(string(b), "id: hello", "id: hello-backend"), "demo", demo)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello-backend.md"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	l := NewLab(s, dir)
	defer l.Close()
	const id = "hello-backend"
	i := slices.IndexFunc(l.Scenarios(), func(sc ui.Scenario) bool { return sc.ID == id })
	if i < 0 {
		t.Fatal("hello is not in the catalog the UI sees")
	}
	sc := l.Scenarios()[i]
	if len(sc.Steps) != 4 || sc.Steps[0].Commands[0].Sh != "ip netns add nslab-"+demo {
		t.Fatalf("steps as the UI sees them: %+v", sc.Steps)
	}
	// The learner's part: the introduction, a question, what to type, a
	// challenge with its hints.
	if sc.Intro == "" || sc.Steps[0].Predict == nil || sc.Steps[0].Predict.Kind != "choice" ||
		len(sc.Steps[1].HandsOn) != 1 || sc.Steps[1].HandsOn[0].Sh != "ip -n nslab-"+demo+" link set lo up" || !sc.Steps[1].Waits ||
		!sc.Steps[3].Challenge() || len(sc.Steps[3].Hints) < 2 {
		t.Fatalf("the learner's part as the UI sees it: %+v", sc)
	}
	if _, right, err := sc.Steps[0].Predict.Judge("2"); err != nil || !right {
		t.Errorf("the right choice judged %v, %v", right, err)
	}
	evs := runStep(l, id, 0)
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
	labtest.IP(t, "-n", "nslab-"+demo, "link", "set", "lo", "up")
	resolved := false
	for _, e := range runStep(l, id, 1) {
		if e.Kind == ui.CheckDone && !e.OK {
			t.Fatalf("hands-on check after the learner's command: %s", e.Detail)
		}
		resolved = resolved || e.Kind == ui.ShellResolved && len(e.Shell) == 1 && strings.Contains(e.Shell[0], "nslab-"+demo)
	}
	if !resolved {
		t.Error("the hands-on step sent no shell form to show")
	}
	if hs := l.Holders(context.Background()); len(hs) == 0 || !strings.Contains(hs[0].Summary, "mount") {
		t.Errorf("holders of the lab's namespace: %+v", hs)
	}
	// Jumping to step 3 rebuilds steps 1 and 2 from a clean lab.
	if err := l.Prepare(context.Background(), id, 2); err != nil {
		t.Fatal(err)
	}
	for _, e := range runStep(l, id, 2) {
		if (e.Kind == ui.CheckDone && !e.OK) || (e.Kind == ui.CommandDone && e.Err != nil) {
			t.Fatalf("step 3 after Prepare: %+v", e)
		}
	}
	// The prompt: a typo gets its column, completion knows the lab's names.
	if r := l.Exec(context.Background(), "link sett lo up -n "+demo); r.Err == nil || r.Col != 6 {
		t.Errorf("typo at the prompt: err %v col %d, want column 6", r.Err, r.Col)
	}
	if r := l.Exec(context.Background(), "expect link lo -n "+demo+" up"); r.Err != nil || !r.Check || !r.OK {
		t.Errorf("check at the prompt: %+v", r)
	}
	if c := l.Complete("netns d", 7); !slices.Equal(c, []string{"del"}) {
		t.Errorf("completing `netns d`: %v", c)
	}
	if c := l.Complete("ping 10.0.0.1 -n de", 19); !slices.Contains(c, demo) {
		t.Errorf("completing a namespace name: %v", c)
	}
	// Links complete too: the lab's own on the host, and those inside its
	// namespaces and its children's. After -n, only namespaces.
	veth, peer := labtest.Name("cv"), labtest.Name("cp")
	for _, line := range []string{"spawn kid net", "link add " + veth + " type veth peer " + peer, "link set " + peer + " netns kid"} {
		if r := l.Exec(context.Background(), line); r.Err != nil {
			t.Fatalf("%s: %v", line, r.Err)
		}
	}
	// watch PID follows any process, not only the lab's children.
	sleeper := labtest.Start(t, "sleep", "30")
	if r := l.Exec(context.Background(), fmt.Sprintf("watch %d", sleeper.Process.Pid)); r.Err != nil {
		t.Fatalf("watch PID: %v", r.Err)
	}
	if !slices.ContainsFunc(l.Watched(), func(w Watched) bool { return w.PID == sleeper.Process.Pid }) {
		t.Errorf("watched %v, want the sleep %d", l.Watched(), sleeper.Process.Pid)
	}
	for _, c := range []struct {
		line string
		want []string
	}{
		{"link set cv", []string{veth}},
		{"link set cp", []string{peer}},
		{"link set l", []string{"lo"}},
		{"expect link lo -n ", []string{demo, "host", "kid"}},
		{"link set lo up -n " + demo + " ", []string{"-n", "down", "master", "name", "netns", "up"}},
		{"close ", []string{"web"}},
	} {
		if got := l.Complete(c.line, len(c.line)); !slices.Equal(got, c.want) {
			t.Errorf("completing %q: %v, want %v", c.line, got, c.want)
		}
	}
}
