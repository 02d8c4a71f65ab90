package main

import (
	"encoding/json"
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
	if _, _, code := nslab(t, "run", "hello", "--yes", "--record", sh); code != 0 {
		t.Fatal("run with --record .sh failed")
	}
	script, _ := os.ReadFile(sh)
	if !strings.Contains(string(script), "ip netns add nslab-demo") {
		t.Errorf("shell record:\n%s", script)
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

func assertNoLabLeft(t *testing.T) {
	t.Helper()
	out, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(out), "nslab-demo") {
		t.Errorf("namespace left after run:\n%s", out)
	}
}
