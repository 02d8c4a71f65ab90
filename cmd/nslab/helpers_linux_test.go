package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// The helpers of the CLI tests: the real binary, built once, run with
// arguments, environment and stdin, and the scenario files they run.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// TestMain removes the binary the tests built: it is 30 MB, and one was
// left in $TMPDIR by every run.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

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

// netnsExists reports whether the lab namespace SHORT exists: nslab-SHORT,
// or nslab2-SHORT and on while other labs on the machine hold the first
// prefixes (test names are random: no other lab has this one).
func netnsExists(short string) bool { return labNetns(short) != "" }

// labNetns is the system name of the lab namespace SHORT, "" if there is
// none.
func labNetns(short string) string {
	for _, prefix := range []string{"nslab-", "nslab[2-9]-"} {
		if m, _ := filepath.Glob("/run/netns/" + prefix + short); len(m) > 0 {
			return filepath.Base(m[0])
		}
	}
	return ""
}

// removeNetns removes what a failed test left of the lab namespace SHORT.
func removeNetns(short string) {
	if name := labNetns(short); name != "" {
		exec.Command("ip", "netns", "del", name).Run()
	}
}

// assertNetnsGone fails the test if the lab namespace SHORT is still there
// after what should have removed it, and removes it.
func assertNetnsGone(t *testing.T, short, after string) {
	t.Helper()
	if netnsExists(short) {
		removeNetns(short)
		t.Errorf("nslab-%s is left after %s", short, after)
	}
}

// attended is the binary started as a learner at the keyboard would run
// it: stdin held open (silent, unless the test types), the output read as
// it comes, so the test can answer what it asks. However the test ends,
// stdin is closed and a process still running is stopped as Ctrl-C
// stops it, so that it removes its lab.
type attended struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr strings.Builder // read only after cmd.Wait
	chunks chan string
	out    strings.Builder // what it printed so far, as waitFor saw it
	from   int             // where the next waitFor looks
}

// startAttended starts the binary with args and extra environment.
func startAttended(t *testing.T, env []string, args ...string) *attended {
	t.Helper()
	a := &attended{t: t, cmd: exec.Command(nslabBin(t), args...), chunks: make(chan string, 256)}
	a.cmd.Env = append(os.Environ(), env...)
	a.stdin, _ = a.cmd.StdinPipe()
	stdout, _ := a.cmd.StdoutPipe()
	a.cmd.Stderr = &a.stderr
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.stdin.Close()
		if a.cmd.ProcessState == nil { // not waited for: still running
			a.stop()
		}
	})
	go func() {
		defer close(a.chunks)
		buf := make([]byte, 4096)
		for {
			// A prompt ("your guess: ") ends without a newline: what was
			// printed counts as it comes, not line by line.
			n, err := stdout.Read(buf)
			if n > 0 {
				a.chunks <- string(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	return a
}

// waitFor reads the output until it shows want after what the last waitFor
// found; it fails the test if the run ends first or d passes.
func (a *attended) waitFor(want string, d time.Duration) {
	a.t.Helper()
	timeout := time.After(d)
	for {
		if i := strings.Index(a.out.String()[a.from:], want); i >= 0 {
			a.from += i + len(want)
			return
		}
		select {
		case c, ok := <-a.chunks:
			if !ok {
				a.cmd.Wait()
				a.t.Fatalf("the run ended before %q:\n%s\n%s", want, a.out.String(), a.stderr.String())
			}
			a.out.WriteString(c)
		case <-timeout:
			a.stop()
			a.t.Fatalf("no %q within %s:\n%s\n%s", want, d, a.out.String(), a.stderr.String())
		}
	}
}

// typeLine writes line and a newline to the run's stdin.
func (a *attended) typeLine(line string) { io.WriteString(a.stdin, line+"\n") }

// stop interrupts the run (SIGINT, as Ctrl-C), which removes its lab and
// exits; one that has not within 30 s is killed.
func (a *attended) stop() {
	a.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { a.wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		a.cmd.Process.Kill()
		<-done
	}
}

// wait reads the output to its end and waits for the process: all it
// printed, and Wait's error.
func (a *attended) wait() (string, error) {
	for c := range a.chunks {
		a.out.WriteString(c)
	}
	return a.out.String(), a.cmd.Wait()
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

// labJournal is the journal of the one lab that keeps its journals in
// runDir: the lab's session (its PID) and what it has made so far.
func labJournal(t *testing.T, runDir string) lab.JournalFile {
	t.Helper()
	jfs, err := lab.ReadJournals(runDir)
	if err != nil || len(jfs) != 1 {
		t.Fatalf("the lab's journals in %s: %+v %v", runDir, jfs, err)
	}
	return jfs[0]
}

// assertLabGone fails the test if anything of made is still there, or a
// journal in runDir, after how the lab ended.
func assertLabGone(t *testing.T, made []lab.Entry, runDir, after string) {
	t.Helper()
	if left := lab.StillThere(made); len(left) > 0 {
		t.Errorf("left behind after %s: %v", after, left)
	}
	if jfs, _ := lab.ReadJournals(runDir); len(jfs) != 0 {
		t.Errorf("journal left after %s: %+v", after, jfs)
	}
}

// startProxy starts `bin proxy args` with extra environment. At the end of
// the test it is killed (if the test has not stopped it) and, if the test
// failed, what it wrote to stderr is logged.
func startProxy(t *testing.T, bin string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"proxy"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stderr := &strings.Builder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("nslab proxy's stderr:\n%s", stderr)
		}
	})
	return cmd
}

// proxyServing dials a proxy's control socket until ready(client) holds
// (nil: until it answers), for up to 30 s; the client is closed at the
// end of the test.
func proxyServing(t *testing.T, ctl string, ready func(*proxy.Client) bool) *proxy.Client {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c, err := proxy.Dial(ctl)
		if err == nil && (ready == nil || ready(c)) {
			t.Cleanup(func() { c.Close() })
			return c
		}
		if err == nil {
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proxy on %s was not serving within 30s (%v)", ctl, err)
		}
	}
}

// nsLesson writes a one-off lesson whose body names a fresh namespace as
// %[1]s (base and a random suffix): the namespace's name and the file.
func nsLesson(t *testing.T, base, body string) (ns, file string) {
	t.Helper()
	ns = labtest.Name(base)
	return ns, scenarioFile(t, t.TempDir(), base, "", fmt.Sprintf(body, ns))
}
