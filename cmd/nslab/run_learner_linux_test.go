package main

import (
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
)

// Attended, nslab run asks the prediction before the step runs (asking
// again when the answer does not read), sets the guess beside the answer
// and the kernel's result; a challenge's hints come one per [enter], then
// its solution, while the check waits for the learner's own command.
func TestRunAsksThePredictionAndRevealsHints(t *testing.T) {
	labtest.RequireRoot(t)
	ns, f := nsLesson(t, "pr",
		"## Make\n```predict\nWhat is in a new namespace?\n- [ ] eth0\n- [x] lo, down\n```\n```lab\nnetns add %[1]s\n```\n```check\nexpect link lo -n %[1]s down\n```\n"+
			"## Yours\nBring lo up.\n```hint\nip link set ... up\n```\n```solution\nlink set lo up -n %[1]s\n```\n```check\nexpect link lo -n %[1]s up within 30s\n```\n")
	run := startAttended(t, nil, "run", f)
	wait := 30 * time.Second
	run.waitFor("2. lo, down", wait)
	run.typeLine("3")
	run.typeLine("2")
	run.waitFor("type the number of a choice, 1 to 2", wait)
	run.waitFor("✓ you guessed lo, down · the answer: lo, down · the kernel: it is down", wait)
	run.typeLine("") // the pause
	run.waitFor("[enter] reveals a hint (1)", wait)
	run.typeLine("")
	run.waitFor("hint 1/1: ip link set ... up", wait)
	run.typeLine("")
	run.waitFor("link set lo up -n "+ns, wait)
	labtest.IP(t, "-n", createdName(run.out.String(), ns), "link", "set", "lo", "up") // the learner's command
	run.waitFor("✓ link lo in "+ns+" is up", wait)
	run.stdin.Close()
	if out, err := run.wait(); err != nil || !strings.Contains(out, "every check passed") {
		t.Errorf("exit %v\n%s\n%s", err, out, run.stderr.String())
	}
}

// --yes asks nothing; --json carries the question, the answer and the
// kernel's result, with no guess.
func TestRunYesSkipsThePredictionAndJSONCarriesIt(t *testing.T) {
	labtest.RequireRoot(t)
	_, f := nsLesson(t, "pj",
		"## Make\n```predict\nIs lo up in a new namespace?\nanswer: no\nwhy: the kernel leaves it down.\n```\n```lab\nnetns add %[1]s\n```\n```check\nexpect link lo -n %[1]s down\n```\n")
	out, stderr, code := nslabIn(t, nil, "", "run", f, "--yes", "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{`"question": "Is lo up in a new namespace?"`, `"kind": "yesno"`, `"answer": "no"`, `"seen": "it is down"`, `"why": "the kernel leaves it down."`} {
		if !strings.Contains(out, want) {
			t.Errorf("JSON lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, `"guess"`) {
		t.Errorf("--yes recorded a guess:\n%s", out)
	}
}
