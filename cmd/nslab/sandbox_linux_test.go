package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

// The accounts the sandbox tests run nslab as (.ci/run makes them): the
// first has a subordinate id range, the second none.
const (
	learner1 = "nslab-learner1"
	learner2 = "nslab-learner2"
)

// Every lesson of the catalog runs green as an ordinary user, no sudo and
// no capabilities, in a sandbox; and the machine's /run/netns, links and
// routes are as they were, before, during and after.
func TestTheCatalogRunsAsAnUnprivilegedUserInASandbox(t *testing.T) {
	labtest.Long(t, "runs the whole catalog")
	l := newLearner(t, learner1, true)
	bin := learnerBin(t)
	if caps, _, _ := l.run(t, "/bin/grep", "^Cap\\(Inh\\|Prm\\|Eff\\|Amb\\)", "/proc/self/status"); strings.Count(caps, "0000000000000000") != 4 {
		t.Fatalf("the learner has capabilities:\n%s", caps)
	}
	before := readMachine(t)
	cmd := l.command(bin, "run", "--all", "--yes", "--json")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	initPID, ok := sandboxInit(cmd.Process.Pid)
	if !ok {
		t.Fatal("no sandbox under nslab")
	}
	stopWatching := watchMachine(t, initPID)
	err := cmd.Wait()
	seen := stopWatching()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	out := stdout.String()
	var all runAllReport
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatalf("exit %d, not JSON: %v\n%s\n%s", code, err, out, stderr.String())
	}
	reps := all.Runs
	// In a sandbox, only a kernel without SCTP may skip a lesson.
	assertLessonsPass(t, reps, func(why string) bool { return strings.Contains(why, "SCTP") })
	if code != 0 {
		t.Errorf("exit %d\n%s", code, stderr.String())
	}
	// Before and after: no namespace, link or route of a name the lessons
	// use is new on the machine (other tests' labs, with names of their
	// own, may come and go meanwhile).
	if made := append(seen, readMachine(t).newSince(before, lessonNames(reps))...); len(made) > 0 {
		t.Errorf("the sandboxed lab changed the machine: %v", made)
	}
}

// lessonNames are the system names the lessons' commands could give a
// namespace or a host link: nslab- and every word of every command.
func lessonNames(reps []runReport) map[string]bool {
	names := map[string]bool{}
	for _, r := range reps {
		for _, st := range r.Steps {
			for _, c := range st.Commands {
				for _, w := range strings.FieldsFunc(c.Text, func(r rune) bool { return strings.ContainsRune(" ,{}=/", r) }) {
					names[lab.Prefix+w] = true
				}
			}
		}
	}
	return names
}

// watchMachine polls the machine's /run/netns while a sandboxed lab runs;
// stop ends the polling and reports every namespace seen there that the
// sandbox's user namespace (or one made inside it) owns: the kernel's own
// answer (NS_GET_USERNS).
func watchMachine(t *testing.T, initPID int) (stop func() []string) {
	users := sandboxUsers(t, initPID)
	done, finished := make(chan struct{}), make(chan struct{})
	found := map[string]bool{} // the poller's alone until finished
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			ents, _ := os.ReadDir(lab.NetnsDir)
			for _, e := range ents {
				if ino := ownerOf(filepath.Join(lab.NetnsDir, e.Name())); users[ino] {
					found["(while running) netns "+e.Name()] = true
				}
			}
		}
	}()
	return func() []string {
		close(done)
		<-finished
		return slices.Collect(maps.Keys(found))
	}
}

// sandboxUsers are the sandbox's user namespace and those lsns shows made
// inside it.
func sandboxUsers(t *testing.T, initPID int) map[uint64]bool {
	users := map[uint64]bool{}
	for ino, typ := range describeSandbox(t, initPID).ns {
		if typ == "user" {
			users[ino] = true
		}
	}
	return users
}

// ownerOf is the inode of the user namespace that owns the namespace at
// path, 0 if it cannot be read.
func ownerOf(path string) uint64 {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer unix.Close(fd)
	ufd, err := unix.IoctlRetInt(fd, unix.NS_GET_USERNS)
	if err != nil {
		return 0
	}
	defer unix.Close(ufd)
	var st unix.Stat_t
	if unix.Fstat(ufd, &st) != nil {
		return 0
	}
	return st.Ino
}

// A learner without a subordinate id range gets a one-id sandbox: the
// lessons that need no other user run, and the one that switches to nobody
// is listed unavailable, with the fix.
func TestAOneIDSandboxSaysWhatItLacks(t *testing.T) {
	l := newLearner(t, learner2, false)
	bin := learnerBin(t)
	out, _, code := l.run(t, bin, "run", "user", "--yes")
	if code != 0 || !strings.Contains(out, "every check passed") {
		t.Errorf("the user lesson in a one-id sandbox: exit %d\n%s", code, out)
	}
	list, _, _ := l.run(t, bin, "list")
	if !strings.Contains(list, "rootless") || !strings.Contains(list, "no: needs user ids besides your own") {
		t.Errorf("rootless is not listed unavailable with why:\n%s", list)
	}
	doc, _, _ := l.run(t, bin, "doctor")
	if !strings.Contains(doc, "usermod --add-subuids") || !strings.Contains(doc, "sandbox: "+learner2) {
		t.Errorf("doctor does not say the mode and the fix:\n%s", doc)
	}
}

// kill -9 of a sandboxed proxy lesson, at 20 points: nothing of it is
// left, neither process nor namespace, and nslab cleanup is never run.
func TestKill9OfASandboxedProxyLessonLeavesNothing(t *testing.T) {
	labtest.Long(t, "20 runs of a lesson, each killed")
	l := newLearner(t, learner1, true)
	bin := learnerBin(t)
	labtest.Subreaper(t) // the test reaps what each kill orphans
	for point := 1; point <= 20; point++ {
		killAtPoint(t, l, bin, point)
	}
}

// killAtPoint runs tenant-proxy as the learner, stops it after the point-th
// command or check, records what its sandbox holds, kills it with -9 and
// checks that none of that is left. Whatever fails, nothing of the run
// outlives the call.
func killAtPoint(t *testing.T, l learner, bin string, point int) {
	t.Helper()
	cmd := l.command(bin, "run", "tenant-proxy", "--yes")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // to hold it still
	out, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	initPID, _ := sandboxInit(cmd.Process.Pid)
	waited := false
	defer func() {
		if !waited {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT)
			cmd.Wait()
			reap(initPID)
		}
	}()
	// A command ("  $ ") or a check ("  ✓ ") is a point: stop the lab
	// after the point-th one, see what its sandbox holds, then kill.
	var seen strings.Builder
	sc := bufio.NewScanner(out)
	n := 0
	for n < point && sc.Scan() {
		line := sc.Text()
		seen.WriteString(line + "\n")
		if strings.HasPrefix(line, "  $ ") || strings.HasPrefix(line, "  ✓ ") {
			n++
		}
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGSTOP) // nslab, the init and the lab
	if n < point || initPID == 0 || !lab.ProcAlive(initPID, labtest.ProcStart(initPID)) {
		st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", initPID))
		t.Fatalf("point %d: the run ended before it (init %d, %d points, stat %q):\n%s\n%s", point, initPID, n, st, seen.String(), stderr.String())
	}
	sb := describeSandbox(t, initPID)
	if len(sb.procs) < 2 || len(sb.ns) < 4 {
		t.Fatalf("point %d: the sandbox seen from the machine is too small to prove anything: %+v", point, sb)
	}
	killedAt := labtest.UptimeTicks()
	// kill -9 the lab itself at odd points, nslab (what the learner
	// started) at even ones.
	victim := cmd.Process.Pid
	if point%2 == 1 {
		victim, _ = lab.SandboxLab(initPID)
	}
	syscall.Kill(victim, syscall.SIGKILL)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT)
	cmd.Wait()
	reap(initPID)
	waited = true
	var left []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if left = sb.leftAfter(t, killedAt); len(left) == 0 {
			break
		}
	}
	if len(left) > 0 {
		t.Fatalf("point %d: left after kill -9: %v", point, left)
	}
	t.Logf("point %d: %d processes and %d namespaces of the sandbox, none left", point, len(sb.procs), len(sb.ns))
}

// childOf finds a child of pid (under any of its threads) whose command
// line starts with prefix ("" for any), waiting for it a little.
func childOf(pid int, prefix ...string) (int, bool) {
	for range 300 {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
		for _, t := range tasks {
			b, _ := os.ReadFile(t)
			for _, f := range strings.Fields(string(b)) {
				var c int
				fmt.Sscan(f, &c)
				cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", c))
				if len(prefix) == 0 || strings.HasPrefix(string(cmdline), prefix[0]) {
					return c, true
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, false
}

// sandboxInit finds the init of the sandbox nslab (pid) made: not the
// newuidmap it may run first.
func sandboxInit(pid int) (int, bool) { return childOf(pid, "nslab-sandbox:init") }

// reap waits for an orphan this process adopted as subreaper.
func reap(pid int) {
	var ws unix.WaitStatus
	for range 500 {
		if got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); got == pid || err != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Two labs of the same lesson at once never meet: one learner twice, two
// learners, and root twice, in host mode (names carry a prefix each) and
// with --sandbox.
func TestTwoLabsOfTheSameLessonAtOnceBothPass(t *testing.T) {
	labtest.Long(t, "runs lessons side by side")
	l1, l2 := newLearner(t, learner1, true), newLearner(t, learner2, false)
	bin := learnerBin(t)
	asRoot := func(args ...string) *exec.Cmd { return exec.Command(bin, args...) }
	for _, pair := range []struct {
		what string
		a, b *exec.Cmd
	}{
		{"one learner twice", l1.command(bin, "run", "thread-savings", "--yes"), l1.command(bin, "run", "thread-savings", "--yes")},
		{"two learners", l1.command(bin, "run", "thread-savings", "--yes"), l2.command(bin, "run", "thread-savings", "--yes")},
		// Host mode shares the machine's ports: lessons without a host
		// listener there.
		{"root in host mode and root in a sandbox", asRoot("run", "veth", "--yes"), asRoot("--sandbox", "run", "veth", "--yes")},
		{"root twice in host mode", asRoot("run", "hello", "--yes"), asRoot("run", "hello", "--yes")},
	} {
		t.Run(pair.what, func(t *testing.T) {
			outs := make([]strings.Builder, 2)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, c := range []*exec.Cmd{pair.a, pair.b} {
				c.Stdout, c.Stderr = &outs[i], &outs[i]
				wg.Add(1)
				go func() { defer wg.Done(); errs[i] = c.Run() }()
			}
			wg.Wait()
			for i := range errs {
				if errs[i] != nil || !strings.Contains(outs[i].String(), "every check passed") {
					t.Errorf("lab %d: %v\n%s", i+1, errs[i], outs[i].String())
				}
			}
		})
	}
}

// nslab with stdin not a terminal asks nothing and changes nothing: a dead
// run's leftovers (another learner's) stay as they were.
func TestTheTUIWithoutATerminalChangesNothing(t *testing.T) {
	labtest.RequireRoot(t)
	// root's own dead run: the offer would cover it, if it were made.
	dir, made := deadRun(t, "nt")
	sys := made[0].Name
	for _, who := range []string{"root", learner2} {
		var cmd *exec.Cmd
		if who == "root" {
			cmd = exec.Command(learnerBin(t))
			cmd.Env = append(os.Environ(), "NSLAB_RUN_DIR="+dir)
		} else {
			cmd = newLearner(t, learner2, false).command(learnerBin(t))
		}
		cmd.Stdin = nil // /dev/null
		out, err := cmd.CombinedOutput()
		ee, _ := err.(*exec.ExitError)
		if ee == nil || ee.ExitCode() != 1 || !strings.Contains(string(out), "needs a terminal") || strings.Contains(string(out), "Remove them") {
			t.Errorf("as %s: nslab </dev/null: %v\n%s", who, err, out)
		}
		if _, err := os.Stat(filepath.Join(lab.NetnsDir, sys)); err != nil {
			t.Fatalf("as %s: the dead run's namespace %s was touched: %v", who, sys, err)
		}
		if jfs, _ := lab.ReadJournals(dir); len(jfs) != 1 {
			t.Fatalf("as %s: the dead run's journal was touched: %+v", who, jfs)
		}
	}
}

// The start-up offer reads end of input as no answer, not as yes.
func TestTheCleanupOfferTakesEndOfInputAsNoAnswer(t *testing.T) {
	labtest.RequireRoot(t)
	dir, made := deadRun(t, "eo")
	t.Setenv("NSLAB_RUN_DIR", dir)
	var out strings.Builder
	offerCleanup(strings.NewReader(""), &out)
	if !strings.Contains(out.String(), "no answer (end of input)") {
		t.Errorf("offer said:\n%s", out.String())
	}
	if len(lab.StillThere(made)) == 0 {
		t.Error("end of input removed the dead run's resources")
	}
}

// deadRun leaves what a lab run of root's that ended without removing its
// lab leaves (--keep, as kill -9 would): a namespace, and the journal of a
// session no longer running, in a directory of its own.
func deadRun(t *testing.T, base string) (dir string, made []lab.Entry) {
	t.Helper()
	labtest.RequireRoot(t)
	dir = t.TempDir()
	ns := labtest.Name(base)
	f := scenarioFile(t, dir, "dead", "", "## Make\n```lab\nnetns add "+ns+"\n```\n```check\nexpect netns "+ns+" exists\n```\n")
	cmd := exec.Command(nslabBin(t), "run", f, "--yes", "--keep")
	cmd.Env = append(os.Environ(), "NSLAB_RUN_DIR="+filepath.Join(dir, "run"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	dir = filepath.Join(dir, "run")
	t.Cleanup(func() { lab.Cleanup(dir) })
	jfs, _ := lab.ReadJournals(dir)
	if len(jfs) != 1 || jfs[0].Alive || len(jfs[0].Live) != 1 {
		t.Fatalf("the dead run's journal: %+v", jfs)
	}
	return dir, jfs[0].Live
}

// Where unprivileged user namespaces are off, nslab names the setting and
// the fix, in a sentence, with exit code 1: doctor and a lab command. The
// setting is user.max_user_namespaces=0 in a user namespace of the test's
// own (the limit is per user namespace): the machine's stays as it is.
func TestWithoutUserNamespacesNslabNamesTheSettingAndTheFix(t *testing.T) {
	l := newLearner(t, learner2, false)
	bin := learnerBin(t)
	if l.uid >= 65536 {
		t.Skipf("%s has uid %d, outside the ids this test maps", l.name, l.uid)
	}
	// A user namespace (ids 0-65535 as themselves) held by a sleep; the
	// commands enter it, lower its limit to 0, and run nslab as the learner.
	holder := exec.Command("unshare", "--user", "sleep", "600")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { holder.Process.Kill(); holder.Wait() }()
	self, _ := os.Readlink("/proc/self/ns/user")
	for range 500 {
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", holder.Process.Pid)); err != nil || ns != self {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, m := range []string{"uid_map", "gid_map"} {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/%s", holder.Process.Pid, m), []byte("0 0 65536"), 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"doctor"}, {"run", "hello", "--yes"}} {
		script := fmt.Sprintf("echo 0 > /proc/sys/user/max_user_namespaces && cd / && exec setpriv --reuid %d --regid %d --clear-groups %s %s",
			l.uid, l.gid, bin, strings.Join(args, " "))
		cmd := exec.Command("nsenter", "-t", fmt.Sprint(holder.Process.Pid), "-U", "--preserve-credentials", "sh", "-c", script)
		out, err := cmd.CombinedOutput()
		got := string(out)
		ee, _ := err.(*exec.ExitError)
		if ee == nil || ee.ExitCode() != 1 {
			t.Errorf("nslab %s: %v, want exit 1\n%s", strings.Join(args, " "), err, got)
		}
		for _, want := range []string{"user.max_user_namespaces=0", "sysctl -w user.max_user_namespaces=15000", "run nslab as root"} {
			if !strings.Contains(got, want) {
				t.Errorf("nslab %s does not say %q:\n%s", strings.Join(args, " "), want, got)
			}
		}
		if strings.Contains(got, "goroutine ") || strings.Contains(got, "panic") {
			t.Errorf("nslab %s printed a stack trace:\n%s", strings.Join(args, " "), got)
		}
	}
}

// Under sudo, progress is the learner's: in their state directory, and
// theirs on disk, not root's.
func TestProgressUnderSudoIsTheLearners(t *testing.T) {
	l := newLearner(t, learner2, false)
	t.Setenv("SUDO_UID", fmt.Sprint(l.uid))
	t.Setenv("SUDO_GID", fmt.Sprint(l.gid))
	t.Setenv("XDG_STATE_HOME", "")
	os.RemoveAll(filepath.Join(l.home, ".local"))
	path := learnerProgressPath()
	if want := filepath.Join(l.home, ".local", "state", "nslab", "progress.json"); path != want {
		t.Fatalf("progress under sudo at %s, want %s", path, want)
	}
	if err := os.WriteFile(path, []byte("{}"), 0o600); err != nil { // as the UI saves it, as root
		t.Fatal(err)
	}
	giveToLearner(path)
	for p := path; p != l.home; p = filepath.Dir(p) {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil || int(st.Uid) != l.uid {
			t.Errorf("%s belongs to uid %d (%v), want the learner's %d", p, st.Uid, err, l.uid)
		}
	}
}
