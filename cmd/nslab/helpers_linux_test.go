package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// The helpers of the CLI tests: the real binary, built once, run with
// arguments, environment and stdin, and the scenario files they run.

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
		// NSLAB_TEST_BUILD_FLAGS=-race: the binary the tests run is
		// race-built too (nslab serve's harness fails on a race it reports).
		args := append(append([]string{"build"}, strings.Fields(os.Getenv("NSLAB_TEST_BUILD_FLAGS"))...), "-o", binPath, ".")
		out, err := exec.Command("go", args...).CombinedOutput()
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

// nslab runs the binary with args and no input: stdout, stderr, exit code.
func nslab(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return nslabIn(t, nil, "", args...)
}

func assertNoLabLeft(t *testing.T) {
	t.Helper()
	out, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(out), "nslab-demo") {
		t.Errorf("namespace left after run:\n%s", out)
	}
}

// nslabIn runs the binary with extra environment and stdin.
func nslabIn(t *testing.T, env []string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(nslabBin(t), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	return runCommand(t, cmd)
}

// exitCodeOf is the exit code of a command that ran, from Run's error.
func exitCodeOf(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// scenarioFile writes a scenario with the given steps (Markdown after the
// front matter) and returns its path.
func scenarioFile(t *testing.T, dir, id, front, body string) string {
	t.Helper()
	f := filepath.Join(dir, id+".md")
	src := "---\nid: " + id + "\ntitle: T " + id + "\nsummary: s\nlevel: beginner\nminutes: 1\n" + front + "---\n" + body
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func netnsExists(name string) bool {
	_, err := os.Stat("/run/netns/nslab-" + name)
	return err == nil
}

// startWaiting starts `nslab run f` attended (stdin open and silent: a
// learner who is not typing) and returns once it prints that a hands-on
// check waits; out gets the rest of its output.
func startWaiting(t *testing.T, f string) (cmd *exec.Cmd, out *strings.Builder, stderr *strings.Builder, done chan struct{}) {
	t.Helper()
	cmd = exec.Command(nslabBin(t), "run", f)
	stdin, _ := cmd.StdinPipe()
	t.Cleanup(func() { stdin.Close() })
	stdout, _ := cmd.StdoutPipe()
	stderr = &strings.Builder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out = &strings.Builder{}
	waiting := make(chan bool, 1)
	done = make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		seen := false
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n") // read by the test only after done
			if !seen && strings.Contains(sc.Text(), "waiting up to") {
				seen = true
				waiting <- true
			}
		}
		if !seen {
			waiting <- false
		}
	}()
	select {
	case ok := <-waiting:
		if !ok {
			cmd.Wait()
			t.Fatalf("the run never waited for the learner\n%s\n%s", out, stderr)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("no hands-on wait within 30s")
	}
	return cmd, out, stderr, done
}

// createdName is the system name `netns add SHORT` printed in a run's
// output ("created nslab2-SHORT (net:[...])"): a lab takes the next free
// prefix while other labs run on the machine.
func createdName(out, short string) string {
	if m := regexp.MustCompile(`created (nslab[2-9]?-` + regexp.QuoteMeta(short) + `) `).FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return "nslab-" + short
}

// runCommand runs cmd to its end: stdout, stderr, exit code.
func runCommand(t *testing.T, cmd *exec.Cmd) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := exitCodeOf(t, cmd.Run())
	return stdout.String(), stderr.String(), code
}

// nslabJSON runs the binary with args and extra environment, wants exit 0,
// and decodes what it printed into v.
func nslabJSON(t *testing.T, env []string, v any, args ...string) {
	t.Helper()
	out, stderr, code := nslabIn(t, env, "", args...)
	if code != 0 {
		t.Fatalf("nslab %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, stderr)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("nslab %s: not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}
