package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// nslabBin builds the real binary once for the CLI tests.
func nslabBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nslab-cli-test-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "nslab")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build nslab: %v", buildErr)
	}
	return binPath
}

func nslab(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(nslabBin(t), args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func TestRunAScenarioEndToEndAsJSON(t *testing.T) {
	labtest.RequireRoot(t)
	out, stderr, code := nslab(t, "run", "hello", "--yes", "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	var rep runReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if !rep.OK || rep.ID != "hello" || len(rep.Steps) != 3 {
		t.Fatalf("report = %+v", rep)
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
	// A shell record starts from nothing: --from puts the rebuilt steps in.
	if _, _, code := nslab(t, "run", "hello", "--yes", "--from", "3", "--record", sh); code != 0 {
		t.Fatal("run with --record .sh failed")
	}
	script, _ := os.ReadFile(sh)
	for _, want := range []string{"ip netns add nslab-demo", "(rebuilt by --from)", "ip -n nslab-demo link set lo up", "# check: expect sockets self in demo == 1"} {
		if !strings.Contains(string(script), want) {
			t.Errorf("shell record lacks %q:\n%s", want, script)
		}
	}
	assertNoLabLeft(t)
}

func TestAFailingCheckExitsOneAndShowsTheHint(t *testing.T) {
	labtest.RequireRoot(t)
	f := filepath.Join(t.TempDir(), "bad.md")
	os.WriteFile(f, []byte("---\nid: bad\ntitle: Bad\nsummary: s\nlevel: beginner\nminutes: 1\n---\n## Step\n```lab\nnetns add "+labtest.Name("bad")+"\n```\n```check\nexpect ping 10.9.9.9 -n host fails\nexpect threads self <= 1\n```\n```hint\nThreads are never that few.\n```\n"), 0o644)
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
	f := filepath.Join(t.TempDir(), "held.md")
	os.WriteFile(f, []byte("---\nid: held\ntitle: Held\nsummary: s\nlevel: beginner\nminutes: 1\n---\n"+
		"## Make it\n```lab\nnetns add "+name+"\n```\n```check\nexpect netns "+name+" exists\n```\n"+
		"## Use it\n```lab\nlink set lo up -n "+name+"\n```\n```check\nexpect link lo -n "+name+" up\n```\n"), 0o644)
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
	f := filepath.Join(dir, "outside.md")
	os.WriteFile(f, []byte("---\nid: outside\ntitle: O\nsummary: s\nlevel: beginner\nminutes: 1\n---\n"+
		"## Step\n```lab\nexec -- touch "+marker+"\n```\n```check\nexpect output lacks nothing-at-all\n```\n"), 0o644)
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
	f := filepath.Join(t.TempDir(), "typo.md")
	os.WriteFile(f, []byte("---\nid: typo\ntitle: T\nsummary: s\nlevel: beginner\nminutes: 1\n---\n## Step\n```lab\nlink sett va up\n```\n```check\nexpect netns a exists\n```\n"), 0o644)
	_, stderr, code := nslab(t, "lint", f)
	if code != 1 || !strings.Contains(stderr, f+":10:6: unknown command `link sett`") || !strings.Contains(stderr, "did you mean `link set`") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	// A file that does not lint never runs.
	_, stderr, code = nslab(t, "run", f, "--yes")
	if code == 0 || !strings.Contains(stderr, ":10:6:") {
		t.Fatalf("run of a file that does not lint: exit %d\n%s", code, stderr)
	}
}

func TestLintNamesAnUnknownNamespaceWithTheClosestOne(t *testing.T) {
	f := filepath.Join(t.TempDir(), "names.md")
	os.WriteFile(f, []byte("---\nid: names\ntitle: T\nsummary: s\nlevel: beginner\nminutes: 1\n---\n## Step\n```lab\nnetns add right\nlink set lo up -n rigth\n```\n```check\nexpect netns right exists\n```\n"), 0o644)
	_, stderr, code := nslab(t, "lint", f)
	if code != 1 || !strings.Contains(stderr, f+":11:19: unknown namespace `rigth`") || !strings.Contains(stderr, "did you mean `right`?") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}

// The proxy commands from the real binary: the worker is this binary
// re-executed, a process of the run's session, gone when the run ends.
func TestRunAProxyScenario(t *testing.T) {
	labtest.RequireRoot(t)
	a, b, px := labtest.Name("xa"), labtest.Name("xb"), labtest.Name("px")
	f := filepath.Join(t.TempDir(), "proxy.md")
	os.WriteFile(f, []byte(fmt.Sprintf("---\nid: proxy-e2e\ntitle: P\nsummary: s\nlevel: advanced\nminutes: 1\n---\n"+
		"## Tenants\n```lab\nnetns add %[1]s,%[2]s\nlink set lo up -n %[1]s\nlink set lo up -n %[2]s\n"+
		"listen tcp 127.0.0.2:9000 -n %[1]s as a\nlisten tcp 127.0.0.2:9000 -n %[2]s as b\n```\n```check\nexpect link lo -n %[2]s up\n```\n"+
		"## One proxy\n```lab\nproxy start %[3]s route {tenant}/tcp/127.0.0.1:80={tenant}/tcp/127.0.0.2:9000 tenants %[1]s,%[2]s\n"+
		"connect tcp 127.0.0.1:80 -n %[2]s send through\n```\n```check\nexpect output contains echo: through\nexpect threads %[3]s <= 40\nexpect sockets %[3]s in %[1]s >= 1\n```\n", a, b, px)), 0o644)
	out, stderr, code := nslab(t, "run", f, "--yes", "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	var rep runReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.OK || len(rep.Steps) != 2 {
		t.Fatalf("report %+v (%v)\n%s", rep, err, out)
	}
	// The worker's command line carries its name (lab.Reexec's label).
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if cl, _ := os.ReadFile(p); strings.Contains(string(cl), px) {
			t.Errorf("a proxy worker outlived the run: %s %q", p, cl)
		}
	}
}

func assertNoLabLeft(t *testing.T) {
	t.Helper()
	out, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(out), "nslab-demo") {
		t.Errorf("namespace left after run:\n%s", out)
	}
}
