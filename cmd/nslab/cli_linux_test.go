package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

func TestRunAScenarioEndToEndAsJSON(t *testing.T) {
	labtest.RequireRoot(t)
	var rep runReport
	nslabJSON(t, nil, &rep, "run", "hello", "--yes", "--json")
	if !rep.OK || rep.ID != "hello" || len(rep.Steps) != 4 || rep.Schema != jsonSchema {
		t.Fatalf("report = %+v", rep)
	}
	if rep.DurationMs <= 0 || rep.Steps[0].DurationMs <= 0 || rep.Steps[0].Commands[0].DurationMs <= 0 || rep.DurationMs < rep.Steps[0].DurationMs {
		t.Errorf("durations: run %v ms, step %v ms, command %v ms", rep.DurationMs, rep.Steps[0].DurationMs, rep.Steps[0].Commands[0].DurationMs)
	}
	// The learner's part is in the report: what kind of step, and the
	// question with its answer and the kernel's (no guess: --yes).
	if p := rep.Steps[0].Predict; p == nil || p.Answer == "" || p.Seen != "it is down" || p.Guess != "" {
		t.Errorf("step 1's question in JSON: %+v", p)
	}
	if rep.Steps[1].Kind != "hands-on" || rep.Steps[3].Kind != "challenge" {
		t.Errorf("kinds %q %q, want hands-on and challenge", rep.Steps[1].Kind, rep.Steps[3].Kind)
	}
	for _, st := range rep.Steps {
		if len(st.Checks) == 0 {
			t.Errorf("step %q reports no checks", st.Title)
		}
		for _, c := range st.Checks {
			if !c.OK {
				t.Errorf("check %q failed: %s", c.Text, c.Error)
			}
		}
	}
	assertNoLabLeft(t)
}

func TestRunFromAStepRebuildsTheEarlierOnesAndRecords(t *testing.T) {
	labtest.RequireRoot(t)
	dir := t.TempDir()
	md, sh := filepath.Join(dir, "t.md"), filepath.Join(dir, "t.sh")
	out, stderr, code := nslab(t, "run", "hello", "--yes", "--from", "3", "--record", md)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	if strings.Contains(out, "1. A namespace") || !strings.Contains(out, "3. A socket inside") || !strings.Contains(out, "every check passed") {
		t.Errorf("--from 2 output:\n%s", out)
	}
	rec, _ := os.ReadFile(md)
	if !strings.Contains(string(rec), "$ listen tcp 127.0.0.1:8080 -n demo as web") || !strings.Contains(string(rec), "✓") {
		t.Errorf("transcript:\n%s", rec)
	}
	// A shell record is the whole lesson, whatever --from rebuilt.
	if _, _, code := nslab(t, "run", "hello", "--yes", "--from", "3", "--record", sh); code != 0 {
		t.Fatal("run with --record .sh failed")
	}
	script, _ := os.ReadFile(sh)
	for _, want := range []string{"ip netns add nslab-demo", "echo '── 1. A namespace of your own'", "ip -n nslab-demo link set lo up", "|| fail 'expect sockets self in demo == 1'"} {
		if !strings.Contains(string(script), want) {
			t.Errorf("shell record lacks %q:\n%s", want, script)
		}
	}
	assertNoLabLeft(t)
}

func TestAFailingCheckExitsOneAndShowsTheHint(t *testing.T) {
	labtest.RequireRoot(t)
	f := scenarioFile(t, t.TempDir(), "bad", "", "## Step\n```lab\nnetns add "+labtest.Name("bad")+"\n```\n```check\nexpect ping 10.9.9.9 -n host fails\nexpect threads self <= 1\n```\n```hint\nThreads are never that few.\n```\n")
	out, _, code := nslab(t, "run", f, "--yes")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, "✗ threads of self <= 1") || !strings.Contains(out, "hint: Threads are never that few.") {
		t.Errorf("output:\n%s", out)
	}
	assertNoLabLeft(t)
}

// A step whose command fails ends the run: the next steps build on it, and
// here the name is held by another lab, whose namespace the run must not
// touch.
func TestAFailedCommandStopsTheRunBeforeTheNextStep(t *testing.T) {
	labtest.RequireRoot(t)
	name := labtest.Name("held")
	s := labtest.New(t)
	if _, err := s.AddNetns(name); err != nil {
		t.Fatal(err)
	}
	f := scenarioFile(t, t.TempDir(), "held", "",
		"## Make it\n```lab\nnetns add "+name+"\n```\n```check\nexpect netns "+name+" exists\n```\n"+
			"## Use it\n```lab\nlink set lo up -n "+name+"\n```\n```check\nexpect link lo -n "+name+" up\n```\n")
	out, _, code := nslab(t, "run", f, "--yes", "--json")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	var rep struct {
		Steps  []json.RawMessage `json:"steps"`
		NotRun int               `json:"not_run"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rep.Steps) != 1 || rep.NotRun != 1 {
		t.Errorf("ran %d step(s), %d not run; want 1 and 1\n%s", len(rep.Steps), rep.NotRun, out)
	}
	if !strings.Contains(out, "another lab that is running") {
		t.Errorf("the error does not say whose the namespace is:\n%s", out)
	}
	links, err := s.Links(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if l.Name == "lo" && l.Up {
			t.Errorf("the run brought up lo in a namespace it does not own")
		}
	}
}

// A scenario file from outside the catalog runs host programs as root: the
// runner lists them and asks first; no answer means nothing runs.
func TestAnOutsideScenarioAsksBeforeRunningPrograms(t *testing.T) {
	labtest.RequireRoot(t)
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	f := scenarioFile(t, dir, "outside", "",
		"## Step\n```lab\nexec -- touch "+marker+"\n```\n```check\nexpect output lacks nothing-at-all\n```\n")
	_, stderr, code := nslab(t, "run", f) // stdin is empty: no answer
	if code == 0 || !strings.Contains(stderr, "runs these programs as root") || !strings.Contains(stderr, "touch") || !strings.Contains(stderr, "not run") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the program ran without a yes")
	}
	if _, _, code := nslab(t, "run", f, "--yes"); code != 0 {
		t.Errorf("with --yes: exit %d", code)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("with --yes the program did not run: %v", err)
	}
	assertNoLabLeft(t)
}

func TestLintNamesFileLineAndColumn(t *testing.T) {
	for _, tt := range []struct{ name, lab, check, want, hint string }{
		{"an unknown command", "link sett va up", "expect netns a exists",
			":10:6: unknown command `link sett`", "did you mean `link set`"},
		{"an unknown namespace, with the closest one", "netns add right\nlink set lo up -n rigth", "expect netns right exists",
			":11:19: unknown namespace `rigth`", "did you mean `right`?"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := scenarioFile(t, t.TempDir(), "typo", "", "## Step\n```lab\n"+tt.lab+"\n```\n```check\n"+tt.check+"\n```\n")
			_, stderr, code := nslab(t, "lint", f)
			if code != 1 || !strings.Contains(stderr, f+tt.want) || !strings.Contains(stderr, tt.hint) {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			// A file that does not lint never runs.
			_, stderr, code = nslab(t, "run", f, "--yes")
			if code != 1 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("run of a file that does not lint: exit %d\n%s", code, stderr)
			}
		})
	}
}

// The proxy commands from the real binary: the worker is this binary
// re-executed, a process of the run's session, gone when the run ends.
func TestRunAProxyScenario(t *testing.T) {
	labtest.RequireRoot(t)
	a, b, px := labtest.Name("xa"), labtest.Name("xb"), labtest.Name("px")
	f := scenarioFile(t, t.TempDir(), "proxy-e2e", "", fmt.Sprintf(
		"## Tenants\n```lab\nnetns add %[1]s,%[2]s\nlink set lo up -n %[1]s\nlink set lo up -n %[2]s\n"+
			"listen tcp 127.0.0.2:9000 -n %[1]s as a\nlisten tcp 127.0.0.2:9000 -n %[2]s as b\n```\n```check\nexpect link lo -n %[2]s up\n```\n"+
			"## One proxy\n```lab\nproxy start %[3]s route {tenant}/tcp/127.0.0.1:80={tenant}/tcp/127.0.0.2:9000 tenants %[1]s,%[2]s\n"+
			"connect tcp 127.0.0.1:80 -n %[2]s send through\n```\n```check\nexpect output contains echo: through\nexpect threads %[3]s <= 40\nexpect sockets %[3]s in %[1]s >= 1\n```\n", a, b, px))
	var rep runReport
	if nslabJSON(t, nil, &rep, "run", f, "--yes", "--json"); !rep.OK || len(rep.Steps) != 2 {
		t.Fatalf("report %+v", rep)
	}
	// The worker's command line carries its name (lab.Reexec's label).
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if cl, _ := os.ReadFile(p); strings.Contains(string(cl), px) {
			t.Errorf("a proxy worker outlived the run: %s %q", p, cl)
		}
	}
}

// Without --yes the run waits for [enter] after every step but the last;
// the question an outside scenario asks and those pauses read the same
// stdin, so "y" answers the question and each empty line one pause.
func TestRunPausesBetweenStepsAndTheAnswerIsNotLost(t *testing.T) {
	labtest.RequireRoot(t)
	ns, f := nsLesson(t, "pz",
		"## One\n```lab\nnetns add %[1]s\n```\n```check\nexpect netns %[1]s exists\n```\n"+
			"## Two\n```lab\nexec -n %[1]s -- ip -br link\n```\n```check\nexpect output contains lo\n```\n"+
			"## Three\n```lab\nlink set lo up -n %[1]s\n```\n```check\nexpect link lo -n %[1]s up\n```\n")
	out, stderr, code := nslabIn(t, nil, "y\n\n\n", "run", f)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	if n := strings.Count(out, "[enter] next step"); n != 2 {
		t.Errorf("%d pauses, want 2 (between three steps)\n%s", n, out)
	}
	if !strings.Contains(stderr, "run it? [y/N]") || !strings.Contains(out, "every check passed") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, stderr)
	}
	assertNetnsGone(t, ns, "the run")
}

// A lesson whose requires this machine lacks is listed as unavailable with
// the reason, and run skips it (exit 0) instead of failing it.
func TestAScenarioNeedingSCTPIsListedUnavailableWithTheReason(t *testing.T) {
	labtest.RequireRoot(t)
	dir := t.TempDir()
	scenarioFile(t, dir, "zz-sctp", "requires: [sctp]\n",
		"## Listen\n```lab\nnetns add zsctp\nlisten sctp 127.0.0.1:9 -n zsctp\n```\n```check\nexpect sockets self in zsctp == 1\n```\n")
	haveSCTP := lab.Features(lab.Doctor())["sctp"]

	var list struct {
		Schema    int `json:"schema"`
		Scenarios []struct {
			ID        string `json:"id"`
			Level     string `json:"level"`
			Minutes   int    `json:"minutes"`
			Steps     int    `json:"steps"`
			Available bool   `json:"available"`
			Reason    string `json:"reason"`
		} `json:"scenarios"`
	}
	if nslabJSON(t, nil, &list, "--scenarios", dir, "list", "--json"); list.Schema != jsonSchema {
		t.Fatalf("list --json of schema %d, want %d", list.Schema, jsonSchema)
	}
	rows := list.Scenarios
	found := false
	for _, r := range rows {
		if r.Level == "" || r.Minutes == 0 || r.Steps == 0 {
			t.Errorf("%s: level %q, minutes %d, steps %d", r.ID, r.Level, r.Minutes, r.Steps)
		}
		if r.ID != "zz-sctp" {
			continue
		}
		found = true
		if r.Available != haveSCTP || (!haveSCTP && !strings.Contains(r.Reason, "SCTP")) {
			t.Errorf("zz-sctp: available %v (machine has SCTP: %v), reason %q", r.Available, haveSCTP, r.Reason)
		}
	}
	if !found || len(rows) < 10 {
		t.Fatalf("%d rows, zz-sctp among them: %v", len(rows), found)
	}
	if haveSCTP {
		t.Skip("this machine has SCTP: nothing is unavailable")
	}
	out, _, _ := nslab(t, "--scenarios", dir, "list")
	if !regexp.MustCompile(`(?m)^zz-sctp .* no: needs SCTP`).MatchString(out) {
		t.Errorf("the table does not say why zz-sctp is unavailable:\n%s", out)
	}
	out, stderr, code := nslab(t, "--scenarios", dir, "run", "zz-sctp", "--yes")
	if code != 0 || !strings.Contains(out, "skipped: needs SCTP") {
		t.Errorf("run of an unavailable lesson: exit %d\n%s\n%s", code, out, stderr)
	}
	if netnsExists("zsctp") {
		t.Error("an unavailable lesson ran")
	}
}

// --keep leaves the lab standing; `nslab cleanup` removes it later. (The
// journals go to a directory of the test's own: cleanup then touches
// nothing of another run on this machine.)
func TestKeepLeavesTheLabForCleanup(t *testing.T) {
	labtest.RequireRoot(t)
	env := []string{"NSLAB_RUN_DIR=" + t.TempDir()}
	ns := labtest.Name("kp")
	f := scenarioFile(t, t.TempDir(), "keep", "", fmt.Sprintf(
		"## One\n```lab\nnetns add %[1]s\nlink add kv%[2]s type veth peer kw%[2]s -n %[1]s\n```\n```check\nexpect link kv%[2]s -n %[1]s exists\n```\n", ns, ns[2:]))
	_, stderr, code := nslabIn(t, env, "", "run", f, "--yes", "--keep")
	if code != 0 || !strings.Contains(stderr, "nslab cleanup") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	kept := labNetns(ns)
	if kept == "" {
		t.Fatalf("--keep: nslab-%s is gone", ns)
	}
	out, stderr, code := nslabIn(t, env, "", "cleanup")
	if code != 0 || !strings.Contains(out, "netns "+kept) {
		t.Errorf("cleanup: exit %d\n%s\n%s", code, out, stderr)
	}
	assertNetnsGone(t, ns, "nslab cleanup")
}

// waitingHandsOn runs, attended, a lesson whose hands-on step waits for lo
// to come up in a fresh namespace, and returns once the check waits: the
// namespace's name and the run.
func waitingHandsOn(t *testing.T, base string) (string, *attended) {
	t.Helper()
	labtest.RequireRoot(t)
	ns, f := nsLesson(t, base,
		"## Wait\n```lab\nnetns add %[1]s\n```\n```lab unattended\nlink set lo up -n %[1]s\n```\n```check\nexpect link lo -n %[1]s up within 60s\n```\n")
	run := startAttended(t, nil, "run", f)
	run.waitFor("waiting up to", 30*time.Second)
	return ns, run
}

// A hands-on step: the check waits, the learner types the real command in
// a second terminal, and the step passes the moment the kernel shows it.
func TestAHandsOnCheckPassesWhenTheLearnerActs(t *testing.T) {
	ns, run := waitingHandsOn(t, "ho")
	labtest.IP(t, "-n", createdName(run.out.String(), ns), "link", "set", "lo", "up") // the learner's command
	if out, err := run.wait(); err != nil || !strings.Contains(out, "✓ link lo in "+ns+" is up") {
		t.Errorf("exit %v\n%s\n%s", err, out, run.stderr.String())
	}
	assertNetnsGone(t, ns, "the run")
}

// Ctrl-C while a hands-on check waits removes the lab and exits 130.
func TestCtrlCRemovesTheLabAndExits130(t *testing.T) {
	ns, run := waitingHandsOn(t, "ci")
	if !netnsExists(ns) {
		t.Fatalf("nslab-%s does not exist while the step waits", ns)
	}
	run.cmd.Process.Signal(os.Interrupt)
	_, err := run.wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Errorf("exit %v, want 130\n%s", err, run.stderr.String())
	}
	if !strings.Contains(run.stderr.String(), "interrupted") {
		t.Errorf("stderr does not say interrupted:\n%s", run.stderr.String())
	}
	assertNetnsGone(t, ns, "Ctrl-C")
}

// A reader that goes away (nslab run … | head) ends the run as Ctrl-C
// does: the lab is removed. Go ends a process that writes to a closed pipe
// on stdout (SIGPIPE), which left the namespace behind.
func TestAClosedOutputPipeStillRemovesTheLab(t *testing.T) {
	labtest.RequireRoot(t)
	ns, f := nsLesson(t, "pp",
		"## Make it\n```lab\nnetns add %[1]s\n```\n```check\nexpect netns %[1]s exists\n```\n"+
			"## Then\n```lab\nlink set lo up -n %[1]s\n```\n```check\nexpect link lo -n %[1]s up\n```\n")
	cmd := exec.Command(nslabBin(t), "run", f)
	stdin, _ := cmd.StdinPipe()
	defer stdin.Close()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// The first step runs, and the run waits for Enter: then the reader
	// hangs up, and Enter makes it write the next step.
	var out strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(out.String(), "[enter] next step") {
		n, err := stdout.Read(buf)
		if err != nil {
			t.Fatalf("the run ended before its pause: %v\n%s\n%s", err, out.String(), stderr.String())
		}
		out.Write(buf[:n])
	}
	if !netnsExists(ns) {
		t.Fatalf("nslab-%s does not exist after its step:\n%s", ns, out.String())
	}
	stdout.Close()
	io.WriteString(stdin, "\n")
	err := cmd.Wait()
	if netnsExists(ns) {
		removeNetns(ns)
		t.Errorf("the run ended (%v) without removing nslab-%s\n%s", err, ns, stderr.String())
	}
}

// --from takes a step's number or (the start of) its title; a wrong one
// lists the steps. --json carries each command's shell and Go.
func TestRunFromAStepByTitleAndJSONHasShellAndGo(t *testing.T) {
	labtest.RequireRoot(t)
	ns, f := nsLesson(t, "ft",
		"## Make it\n```lab\nnetns add %[1]s\n```\n```check\nexpect netns %[1]s exists\n```\n"+
			"## Bring lo up\n```lab\nlink set lo up -n %[1]s\n```\n```check\nexpect link lo -n %[1]s up\n```\n")
	var rep runReport
	nslabJSON(t, nil, &rep, "run", f, "--yes", "--json", "--from", "bring LO")
	if len(rep.Steps) != 1 || rep.Steps[0].N != 2 || !rep.OK {
		t.Fatalf("--from by title ran %+v", rep.Steps)
	}
	c := rep.Steps[0].Commands[0]
	if c.Shell != "ip -n nslab-"+ns+" link set lo up" || !strings.Contains(c.Go, "LinkSetUp(l)") {
		t.Errorf("shell %q, go %q", c.Shell, c.Go)
	}
	_, stderr, code := nslab(t, "run", f, "--yes", "--from", "teardown")
	if code == 0 || !strings.Contains(stderr, "1. Make it") || !strings.Contains(stderr, "2. Bring lo up") {
		t.Errorf("--from an unknown title: exit %d\n%s", code, stderr)
	}
	assertNetnsGone(t, ns, "the run")
}

// The shell record is a script that runs: sockets, a child in new
// namespaces, nsenter into it, and kill, with the PIDs in variables.
func TestTheShellRecordRuns(t *testing.T) {
	labtest.RequireRoot(t)
	for _, tool := range []string{"socat", "nsenter", "unshare", "pgrep"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the record uses %s: %v", tool, err)
		}
	}
	ns, c := labtest.Name("sh"), labtest.Name("shc")
	dir := t.TempDir()
	f := scenarioFile(t, dir, "record", "", fmt.Sprintf(
		"## Sockets\n```lab\nnetns add %[1]s\nlink set lo up -n %[1]s\nlisten tcp 127.0.0.1:8080 -n %[1]s as web\nconnect tcp 127.0.0.1:8080 -n %[1]s send hi\n```\n```check\nexpect output contains echo: hi\n```\n"+
			"## A child\n```lab\nwatch self\nclose web\nspawn %[2]s net,uts,pid,mnt mountproc hostname box\nexec -p %[2]s -- hostname\nkill %[2]s\n```\n```check\nexpect ns net self == host\n```\n", ns, c))
	sh := filepath.Join(dir, "record.sh")
	if out, stderr, code := nslab(t, "run", f, "--yes", "--record", sh); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	t.Cleanup(func() {
		// What a failed script left running in the namespace goes first.
		if pids, _ := exec.Command("ip", "netns", "pids", "nslab-"+ns).Output(); len(pids) > 0 {
			exec.Command("kill", append([]string{"-9"}, strings.Fields(string(pids))...)...).Run()
		}
		exec.Command("ip", "netns", "del", "nslab-"+ns).Run()
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a line that waits for a terminal (watch) must not hang the test
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", sh).CombinedOutput()
	if err != nil {
		b, _ := os.ReadFile(sh)
		t.Fatalf("bash %s: %v\n%s\nthe script:\n%s", sh, err, out, b)
	}
	// socat answers with what it got (cat); the child's hostname is its own.
	if !strings.Contains(string(out), "hi") || !strings.Contains(string(out), "box") {
		t.Errorf("the script's output:\n%s", out)
	}
}

// A lesson that closes with compare carries the table in --json and writes
// it into --record, and nslab run prints it.
func TestRunCarriesTheResultsTable(t *testing.T) {
	labtest.RequireRoot(t)
	dir := t.TempDir()
	n, a, b := labtest.Name("rr"), labtest.Name("rra"), labtest.Name("rrb")
	body := fmt.Sprintf("\n## Two proxies\n\n```lab\nnetns add %[1]s{1..4}\n"+
		"proxy start %[2]s strategy=shared route {tenant}/tcp/127.0.0.1:80=host/tcp/127.0.0.1:9 tenants %[1]s{1..4}\n"+
		"proxy start %[3]s strategy=thread-per-namespace route {tenant}/tcp/127.0.0.1:81=host/tcp/127.0.0.1:9 tenants %[1]s{1..4}\n"+
		"compare %[2]s %[3]s\n```\n\n```check\nexpect compare processes %[2]s == 1\nexpect compare threads %[2]s < %[3]s within 10s\n```\n", n, a, b)
	file := scenarioFile(t, dir, "rr", "", body)
	env := []string{"NSLAB_RUN_DIR=" + filepath.Join(dir, "run")}

	out, stderr, code := nslabIn(t, env, "", "run", file, "--yes")
	if code != 0 || !strings.Contains(out, "per tenant: threads "+a) || !strings.Contains(out, "bind time") {
		t.Fatalf("exit %d; the table is not printed:\n%s\n%s", code, out, stderr)
	}
	var rep runReport
	nslabJSON(t, env, &rep, "run", file, "--yes", "--json")
	if rep.Results == nil || len(rep.Results.Rows) != 2 {
		t.Fatalf("--json results: %+v", rep.Results)
	}
	r := rep.Results.Rows
	if r[0].Proxy != a || r[0].Strategy != "shared" || r[0].Tenants != 4 || r[0].Processes != 1 || r[0].PSS == 0 || r[0].BindMs <= 0 ||
		r[1].Proxy != b || r[1].Strategy != "thread-per-namespace" || r[1].Threads <= r[0].Threads {
		t.Errorf("--json results: %+v", r)
	}
	rec := filepath.Join(dir, "t.md")
	if _, stderr, code := nslabIn(t, env, "", "run", file, "--yes", "--record", rec); code != 0 {
		t.Fatalf("--record: exit %d\n%s", code, stderr)
	}
	md, _ := os.ReadFile(rec)
	if !strings.Contains(string(md), "## Results") || !strings.Contains(string(md), "| "+a+" | shared | 4 | 1 |") {
		t.Errorf("the transcript lacks the results table:\n%s", md)
	}
}
