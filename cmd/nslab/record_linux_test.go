package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
)

// runShellExports runs each lesson's `--record .sh` export as root, on its
// own, as a learner would (bash FILE), and then checks that they left
// nothing: no namespace in `ip netns list` and nothing `nslab cleanup
// --orphans` would remove that was not there before. dir holds ID.sh for
// every lesson of reps that ran; one whose nslab run failed is not tried.
func runShellExports(t *testing.T, dir string, reps []runReport) {
	t.Helper()
	var missing []string
	for _, tool := range []string{"bash", "socat", "ping", "curl", "nsenter", "unshare", "ss", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		msg := "the shell exports use " + strings.Join(missing, ", ") + ", which this machine lacks (.ci/run installs them)"
		if os.Getenv("NSLAB_REQUIRE_ROOT") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	src, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "NSLAB_SOURCE="+src, "PATH="+filepath.Dir(nslabBin(t))+":"+os.Getenv("PATH"))
	before, orphansBefore := netnsNames(t), orphans(t)
	for _, r := range reps {
		if r.Skipped != "" || !r.OK {
			continue
		}
		file := filepath.Join(dir, r.ID+".sh")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", file)
		cmd.Env, cmd.Dir = env, t.TempDir()
		cmd.WaitDelay = 10 * time.Second
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		cancel()
		t.Logf("bash %s.sh: %s", r.ID, time.Since(t0).Round(100*time.Millisecond))
		if err != nil || !strings.Contains(string(out), "✓ "+r.ID+": every check held") {
			t.Errorf("bash %s: %v\n%s", filepath.Base(file), err, out)
		}
	}
	// (Only what the scripts name: on a shared machine other labs come and
	// go meanwhile.)
	ours := namedIn(t, dir)
	for _, ns := range netnsNames(t) {
		if !slices.Contains(before, ns) && ours(ns) {
			t.Errorf("the exports left namespace %s (ip netns list)", ns)
		}
	}
	for _, o := range orphans(t) {
		if f := strings.Fields(o); len(f) > 1 && !slices.Contains(orphansBefore, o) && ours(f[len(f)-1]) {
			t.Errorf("the exports left %s (nslab cleanup --orphans)", o)
		}
	}
}

// namedIn reports whether a system name is one the scripts in dir use:
// named outright (nslab-veth0), or one of a range (nslab-ts%s).
func namedIn(t *testing.T, dir string) func(string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.sh"))
	names := map[string]bool{}
	var ranges []string
	re := regexp.MustCompile(`nslab-[A-Za-z0-9_.-]+(%s)?`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllString(string(b), -1) {
			if p, ok := strings.CutSuffix(m, "%s"); ok {
				ranges = append(ranges, p)
			} else {
				names[m] = true
			}
		}
	}
	return func(name string) bool {
		if names[name] {
			return true
		}
		for _, p := range ranges {
			if rest, ok := strings.CutPrefix(name, p); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
				return true
			}
		}
		return false
	}
}

func netnsNames(t *testing.T) []string {
	out := labtest.IP(t, "netns", "list")
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

func orphans(t *testing.T) []string {
	out, _, _ := nslab(t, "cleanup", "--orphans")
	return strings.Split(strings.TrimSpace(out), "\n")
}

// `nslab run veth --show sh,go` prints both for every step, narration as
// text rather than raw Markdown; --record x.md is a handout with the
// narration, commands, outputs, checks, shell and Go of every step.
func TestRunShowsShellAndGoAndRecordsAHandout(t *testing.T) {
	labtest.RequireRoot(t)
	md := filepath.Join(t.TempDir(), "veth.md")
	out, stderr, code := nslab(t, "run", "veth", "--yes", "--show", "sh,go", "--record", md)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	const steps = 6 // scenarios/veth.md
	if n := strings.Count(out, "\n  sh:\n"); n != steps {
		t.Errorf("%d steps show sh, want all %d:\n%s", n, steps, out)
	}
	if n := strings.Count(out, "\n  go:\n"); n != steps {
		t.Errorf("%d steps show go, want all %d:\n%s", n, steps, out)
	}
	for _, want := range []string{"│ ip link set nslab-ceth0 netns $PID_OF_C name ceth0", "│ // docs/examples/veth/main.go", "│ func makePair("} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "**") || strings.Contains(out, "`ceth0`") {
		t.Errorf("raw Markdown in the narration:\n%s", out)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	h := string(b)
	for _, want := range []string{
		"# A cable between two stacks", "A veth pair is a virtual Ethernet cable", // the introduction
		"## 2. Make the pair, move one end in", "Create the pair on the host", // a step and its narration
		"$ exec -p c -- ip -br link", "ceth0@if", // a command and its output
		"- ✓ `expect link ceth0 -n c down`", // a check
	} {
		if !strings.Contains(h, want) {
			t.Errorf("the handout lacks %q:\n%s", want, h)
		}
	}
	if n, m := strings.Count(h, "```sh\n"), strings.Count(h, "```go\n"); n != steps || m != steps {
		t.Errorf("the handout has %d sh and %d go blocks, want %d each", n, m, steps)
	}
	assertNoLabLeft(t)
}

func TestRecordAndShowUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "hello", "--show", "py"}, `--show "py": show sh, go or both`},
		{[]string{"run", "hello", "--record", "x.txt"}, "name a .sh file"},
		{[]string{"run", "--all", "--record", "x.sh"}, "put {id} in the name"},
	} {
		_, stderr, code := nslab(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("nslab %s: exit %d, %q; want 2 and %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
}
