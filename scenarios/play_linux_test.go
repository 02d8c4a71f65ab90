package scenarios

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab/script"
)

// playScenario has a plain step, a hands-on step and a step that depends on
// both, with names unique to the test run.
func playScenario(ns string) string {
	return fmt.Sprintf("---\nid: play\ntitle: P\nsummary: s\nlevel: beginner\nminutes: 1\n---\n"+
		"## Make\n```lab\nnetns add %[1]s\n```\n```check\nexpect netns %[1]s exists\n```\n"+
		"## Hands on\n```lab unattended\nlink set lo up -n %[1]s\n```\n```check\nexpect link lo -n %[1]s up within 5s\n```\n"+
		"## Listen\n```lab\nlisten tcp 127.0.0.1:80 -n %[1]s as web\nconnect tcp 127.0.0.1:80 -n %[1]s send hi\n```\n"+
		"```check\nexpect output contains echo: hi\nexpect sockets self in %[1]s == 1\n```\n", ns)
}

// lessonRunner parses the lesson src and gives a runner on a lab session
// of the test's own, closed at its end.
func lessonRunner(t *testing.T, file, src string) (*Scenario, *script.Runner) {
	t.Helper()
	s := labtest.New(t)
	sc, err := Parse(file, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r := script.NewRunner(s)
	t.Cleanup(func() { r.Close() })
	return sc, r
}

func TestAStepReportsEachStatementAsItRuns(t *testing.T) {
	sc, r := lessonRunner(t, "play.md", playScenario(labtest.Name("pl")))
	var got []string
	for i := range sc.Steps {
		res := sc.Steps[i].Run(context.Background(), r, StepOptions{Unattended: true, OnEvent: func(e Event) {
			got = append(got, fmt.Sprintf("%d:%d:%s", e.Kind, e.Index, strings.Fields(e.Stmt.Text)[0]))
		}})
		if !res.OK || len(res.Failed()) > 0 {
			t.Fatalf("step %d: %+v", i+1, res.Failed())
		}
	}
	want := "0:0:netns 1:0:netns 2:0:expect 3:0:expect " + // make
		"0:0:link 1:0:link 2:0:expect 3:0:expect " + // hands-on, unattended
		"0:0:listen 1:0:listen 0:1:connect 1:1:connect 2:0:expect 3:0:expect 2:1:expect 3:1:expect"
	if strings.Join(got, " ") != want {
		t.Errorf("events\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}

func TestRebuildRecreatesTheEarlierStepsForAJump(t *testing.T) {
	sc, r := lessonRunner(t, "play.md", playScenario(labtest.Name("pl")))
	if err := sc.Rebuild(context.Background(), r, 2); err != nil {
		t.Fatal(err)
	}
	res := sc.Steps[2].Run(context.Background(), r, StepOptions{})
	if !res.OK {
		t.Fatalf("step 3 after a rebuild of 1-2: %v", res.Failed())
	}
	// A failing command stops the step and skips its checks.
	ns := labtest.Name("pl")
	bad, err := Parse("bad.md", []byte(strings.Replace(playScenario(ns), "netns add "+ns+"\n", "netns add "+ns+"\nlink set nosuch up -n "+ns+"\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	res = bad.Steps[0].Run(context.Background(), r, StepOptions{})
	if res.OK || len(res.Commands) != 2 || len(res.NotRun) != 1 || len(res.Checks) != 0 {
		t.Errorf("a failed command: %+v", res)
	}
}

// A hands-on step whose check sees the learner's own traffic: attended,
// it waits; bytes sent by another process (a learner's bash in a second
// terminal) make it pass, and without them it fails, saying what it saw
// and then what it expected.
func TestAHandsOnStepSeesTrafficFromAnotherProcess(t *testing.T) {
	ns := labtest.Name("tr")
	src := fmt.Sprintf("---\nid: traffic\ntitle: T\nsummary: s\nlevel: beginner\nminutes: 1\n---\n"+
		"## Listen\n```lab\nnetns add %[1]s\nlink set lo up -n %[1]s\nlisten tcp 127.0.0.1:7430 -n %[1]s as web\n```\n```check\nexpect accepted web == 0\n```\n"+
		"## Knock\n```lab unattended\nconnect tcp 127.0.0.1:7430 -n %[1]s send knock\n```\n"+
		"```check\nexpect received web contains knock within 3s\nexpect accepted web == 1\n```\n```hint\nsend knock from inside\n```\n", ns)
	sc, r := lessonRunner(t, "traffic.md", src)
	if res := sc.Steps[0].Run(context.Background(), r, StepOptions{}); !res.OK {
		t.Fatalf("step 1: %v", res.Failed())
	}
	// Nobody sends anything: the wait runs out, and says so.
	res := sc.Steps[1].Run(context.Background(), r, StepOptions{})
	if res.OK || len(res.Checks) != 2 {
		t.Fatalf("without traffic the step passed: %+v", res)
	}
	want := `web has still received no connection after 3 s; expected contains "knock"`
	if got := res.Checks[0].Err.Error(); got != want {
		t.Errorf("without traffic: %q, want %q", got, want)
	}
	// Another process sends the bytes while the check waits.
	done := make(chan error, 1)
	go func() {
		time.Sleep(500 * time.Millisecond)
		done <- exec.Command("ip", "netns", "exec", "nslab-"+ns, "bash", "-c", "echo knock > /dev/tcp/127.0.0.1/7430").Run()
	}()
	res = sc.Steps[1].Run(context.Background(), r, StepOptions{})
	if err := <-done; err != nil {
		t.Fatalf("the second process: %v", err)
	}
	if !res.OK {
		t.Errorf("with the learner's traffic the step failed: %v", res.Failed())
	}
	if len(res.Commands) != 0 {
		t.Errorf("attended, the lab ran the learner's part itself: %+v", res.Commands)
	}
}
