package main

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
)

// transcript reads a running command's output line by line, so a test can
// answer what it asks, as a learner at the keyboard would.
type transcript struct {
	t     *testing.T
	lines chan string
	all   strings.Builder
}

func newTranscript(t *testing.T, r io.Reader) *transcript {
	tr := &transcript{t: t, lines: make(chan string, 256)}
	go func() {
		defer close(tr.lines)
		br := bufio.NewReader(r)
		for {
			// A prompt ("your guess: ") ends without a newline: it shows
			// up with the line that follows it.
			l, err := br.ReadString('\n')
			if l != "" {
				tr.lines <- l
			}
			if err != nil {
				return
			}
		}
	}()
	return tr
}

// waitFor reads until a line containing want (or a prompt the line ends
// in) and returns it.
func (tr *transcript) waitFor(want string) {
	tr.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-tr.lines:
			if !ok {
				tr.t.Fatalf("the run ended before %q:\n%s", want, tr.all.String())
			}
			tr.all.WriteString(l)
			if strings.Contains(l, want) {
				return
			}
		case <-deadline:
			tr.t.Fatalf("no %q within 30s:\n%s", want, tr.all.String())
		}
	}
}

func (tr *transcript) rest() string {
	for l := range tr.lines {
		tr.all.WriteString(l)
	}
	return tr.all.String()
}

// Attended, nslab run asks the prediction before the step runs (asking
// again when the answer does not read), sets the guess beside the answer
// and the kernel's result; a challenge's hints come one per [enter], then
// its solution, while the check waits for the learner's own command.
func TestRunAsksThePredictionAndRevealsHints(t *testing.T) {
	labtest.RequireRoot(t)
	ns := labtest.Name("pr")
	f := scenarioFile(t, t.TempDir(), "predict", "", fmt.Sprintf(
		"## Make\n```predict\nWhat is in a new namespace?\n- [ ] eth0\n- [x] lo, down\n```\n```lab\nnetns add %[1]s\n```\n```check\nexpect link lo -n %[1]s down\n```\n"+
			"## Yours\nBring lo up.\n```hint\nip link set ... up\n```\n```solution\nlink set lo up -n %[1]s\n```\n```check\nexpect link lo -n %[1]s up within 30s\n```\n", ns))
	cmd := exec.Command(nslabBin(t), "run", f)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	tr := newTranscript(t, stdout)
	tr.waitFor("2. lo, down")
	io.WriteString(stdin, "3\n2\n")
	tr.waitFor("type the number of a choice, 1 to 2")
	tr.waitFor("✓ you guessed lo, down · the answer: lo, down · the kernel: it is down")
	io.WriteString(stdin, "\n") // the pause
	tr.waitFor("[enter] reveals a hint (1)")
	io.WriteString(stdin, "\n")
	tr.waitFor("hint 1/1: ip link set ... up")
	io.WriteString(stdin, "\n")
	tr.waitFor("link set lo up -n " + ns)
	if b, err := exec.Command("ip", "-n", createdName(tr.all.String(), ns), "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("the learner's command: %v\n%s", err, b)
	}
	tr.waitFor("✓ link lo in " + ns + " is up")
	stdin.Close()
	out := tr.rest()
	if err := cmd.Wait(); err != nil || !strings.Contains(out, "every check passed") {
		t.Errorf("exit %v\n%s\n%s", err, out, stderr.String())
	}
}

// --yes asks nothing; --json carries the question, the answer and the
// kernel's result, with no guess.
func TestRunYesSkipsThePredictionAndJSONCarriesIt(t *testing.T) {
	labtest.RequireRoot(t)
	ns := labtest.Name("pj")
	f := scenarioFile(t, t.TempDir(), "predictjson", "", fmt.Sprintf(
		"## Make\n```predict\nIs lo up in a new namespace?\nanswer: no\nwhy: the kernel leaves it down.\n```\n```lab\nnetns add %[1]s\n```\n```check\nexpect link lo -n %[1]s down\n```\n", ns))
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
