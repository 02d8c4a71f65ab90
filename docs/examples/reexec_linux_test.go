package examples

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
)

// held runs reexec MODE -hold and returns the PIDs of its children once
// they are set up.
func held(t *testing.T, args ...string) (*program, []string) {
	t.Helper()
	p := start(t, "reexec", append([]string{"-hold"}, args...)...)
	return p, strings.Fields(strings.TrimPrefix(p.until("ready"), "ready"))
}

// lsnsOf is the namespace of type typ that lsns reports for pid.
func lsnsOf(t *testing.T, typ, pid string) string {
	t.Helper()
	return lsnsField(t, "NS", typ, pid)
}

// lsnsField is one column of lsns for the namespace of type typ of pid.
func lsnsField(t *testing.T, col, typ, pid string) string {
	t.Helper()
	return strings.TrimSpace(string(labtest.Lsns(t, "-n", "-o", col, "-t", typ, "-p", pid)))
}

// The /proc/self/exe pattern of "Namespace.go", one namespace type at a
// time, each checked from outside.
func TestReexecNamespaces(t *testing.T) {
	labtest.RequireRoot(t)
	me := fmt.Sprint(os.Getpid())

	t.Run("uts: the child names its own copy", func(t *testing.T) {
		name := labtest.Name("nslab-h")
		p, pids := held(t, "-hostname", name, "uts")
		if lsnsOf(t, "uts", pids[0]) == lsnsOf(t, "uts", me) {
			t.Errorf("lsns: the child shares our UTS namespace")
		}
		if got := strings.TrimSpace(sh(t, "nsenter", "-t", pids[0], "-u", "hostname")); got != name {
			t.Errorf("the child's hostname = %q, want %q", got, name)
		}
		if h, _ := os.Hostname(); h == name {
			t.Errorf("the host was renamed")
		}
		p.finish()
	})

	t.Run("pid: PID 1 with a /proc of its own", func(t *testing.T) {
		p, pids := held(t, "-mountproc", "pid")
		status := sh(t, "grep", "NSpid", "/proc/"+pids[0]+"/status")
		if f := strings.Fields(status); f[len(f)-1] != "1" {
			t.Errorf("NSpid of the child: %q, want it to end in 1", status)
		}
		if lsnsOf(t, "pid", pids[0]) == lsnsOf(t, "pid", me) {
			t.Errorf("lsns: the child shares our PID namespace")
		}
		// Entering its PID and mount namespaces, ls sees its /proc:
		// the child (1) and ls itself, nothing of the host's.
		var procs []string
		for _, e := range strings.Fields(sh(t, "nsenter", "-t", pids[0], "-p", "-m", "ls", "/proc")) {
			if e[0] >= '0' && e[0] <= '9' {
				procs = append(procs, e)
			}
		}
		if len(procs) > 3 || procs[0] != "1" {
			t.Errorf("the child's /proc lists %v, want 1 and little else", procs)
		}
		p.finish()
	})

	t.Run("user: maps from outside, root inside", func(t *testing.T) {
		p, pids := held(t, "user")
		if got := strings.Fields(sh(t, "cat", "/proc/"+pids[0]+"/uid_map")); strings.Join(got, " ") != "1000 0 1" {
			t.Errorf("uid_map written from outside: %q", got)
		}
		for _, pid := range pids {
			if lsnsOf(t, "user", pid) == lsnsOf(t, "user", me) {
				t.Errorf("lsns: child %s shares our user namespace", pid)
			}
		}
		if got := strings.TrimSpace(sh(t, "nsenter", "-t", pids[2], "-u", "hostname")); got != "nslab-rename" {
			t.Errorf("the child owning its UTS namespace is called %q, want nslab-rename", got)
		}
		out := p.finish()
		for _, want := range []string{"uid 65534", "after the maps: uid 1000", "sethostname: operation not permitted", "sethostname worked"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("mount: a shared peer sees new mounts, a private copy does not", func(t *testing.T) {
		dir := t.TempDir()
		p, pids := held(t, "-dir", dir, "mount")
		sub, own := dir+"/sub", dir+"/own"
		if out := findmnt("-N", pids[0], "-o", "FSTYPE", sub); out != "tmpfs" {
			t.Errorf("findmnt in the peer: %s is %q, want the parent's tmpfs", sub, out)
		}
		if out := findmnt("-N", pids[1], sub); out != "" {
			t.Errorf("findmnt in the loner: %s is mounted there: %q", sub, out)
		}
		if out := findmnt("-N", pids[1], "-o", "FSTYPE", own); out != "tmpfs" {
			t.Errorf("findmnt in the loner: its own %s is %q", own, out)
		}
		if out := findmnt(own); out != "" {
			t.Errorf("the loner's mount reached us: %q", out)
		}
		p.finish()
		if out := findmnt(dir); out != "" {
			t.Errorf("%s is still a mount point after the example: %q", dir, out)
		}
	})

	t.Run("pid -join: a process started into the namespace from outside", func(t *testing.T) {
		p, pids := held(t, "-join", "pid")
		out := strings.Join(p.seen, "\n")
		if !strings.Contains(out, "joined from outside: sleep is PID") {
			t.Fatalf("no joined process:\n%s", out)
		}
		if n := lsnsField(t, "NPROCS", "pid", pids[0]); n != "2" {
			t.Errorf("lsns: %s processes in the child's PID namespace, want 2: the child and the joined sleep", n)
		}
		p.finish()
	})

	t.Run("propagation: a shared copy leaks, a slave does not, unbindable refuses", func(t *testing.T) {
		dir := t.TempDir()
		p, _ := held(t, "-dir", dir, "propagation")
		if out := findmnt("-o", "SOURCE", dir+"/shared"); out != "nslab-shared" {
			t.Errorf("findmnt here: %s/shared is %q, want the shared copy's nslab-shared (the leak)", dir, out)
		}
		if out := findmnt(dir + "/slave"); out != "" {
			t.Errorf("findmnt here: the slave copy's mount reached us: %q", out)
		}
		out := p.finish()
		if !strings.Contains(out, "bind-mount an unbindable mount: invalid argument") {
			t.Errorf("output lacks the refused bind:\n%s", out)
		}
		if out := findmnt(dir); out != "" {
			t.Errorf("%s is still a mount point after the example: %q", dir, out)
		}
	})

	t.Run("sandbox: PID 1, root inside, the machine out of reach", func(t *testing.T) {
		p, pids := held(t, "sandbox")
		for _, typ := range []string{"user", "mnt", "net", "pid"} {
			if lsnsOf(t, typ, pids[0]) == lsnsOf(t, typ, me) {
				t.Errorf("lsns: the sandbox shares our %s namespace", typ)
			}
		}
		if lsnsOf(t, "uts", pids[0]) != lsnsOf(t, "uts", me) {
			t.Errorf("lsns: the sandbox has a UTS namespace of its own")
		}
		out := p.finish()
		for _, want := range []string{"inside: uid 0, PID 1, uid_map 0 0 1", "lo up in its own network namespace: <nil>",
			"sethostname on the machine's UTS namespace: operation not permitted"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("rootless: a user namespace makes a network namespace possible", func(t *testing.T) {
		out := start(t, "reexec", "rootless").finish()
		for _, want := range []string{"I am uid 65534", "a new network namespace alone: start rootless-netns: fork/exec /proc/self/exe: operation not permitted",
			"inside: uid 0", "made veth v0/v1", "move v1 to the host: operation not permitted"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("same: no flags shares everything, CLONE_NEWUTS one namespace", func(t *testing.T) {
		p, pids := held(t, "same")
		for _, typ := range []string{"net", "mnt", "pid", "ipc", "user"} {
			if lsnsOf(t, typ, pids[1]) != lsnsOf(t, typ, me) {
				t.Errorf("lsns: the CLONE_NEWUTS child has a new %s namespace", typ)
			}
		}
		if lsnsOf(t, "uts", pids[0]) != lsnsOf(t, "uts", me) || lsnsOf(t, "uts", pids[1]) == lsnsOf(t, "uts", me) {
			t.Errorf("lsns: the UTS namespaces are not as the clone flags say")
		}
		p.finish()
	})

	t.Run("same -only ipc: one flag, one new namespace", func(t *testing.T) {
		p, pids := held(t, "-only", "ipc", "same")
		for _, typ := range []string{"net", "uts", "mnt", "pid", "user"} {
			if lsnsOf(t, typ, pids[1]) != lsnsOf(t, typ, me) {
				t.Errorf("lsns: the CLONE_NEWIPC child has a new %s namespace", typ)
			}
		}
		if lsnsOf(t, "ipc", pids[1]) == lsnsOf(t, "ipc", me) {
			t.Errorf("lsns: the CLONE_NEWIPC child shares our IPC namespace")
		}
		p.finish()
	})
}

// The lock-os-thread exercise: the checker fails the naive program and
// passes the solution.
func TestLockOSThreadExercise(t *testing.T) {
	labtest.RequireRoot(t)
	for _, c := range []struct {
		program string
		ok      bool
	}{{"exercise", false}, {"solution", true}} {
		out, err := exec.Command(bin(t, "check"), "-netns", "nslab-"+labtest.Name("lot"), bin(t, c.program)).CombinedOutput()
		if (err == nil) != c.ok {
			t.Errorf("check %s: err = %v, want ok = %v\n%s", c.program, err, c.ok, out)
		}
		if !c.ok && !strings.Contains(string(out), "✗") {
			t.Errorf("check %s failed without saying what is wrong:\n%s", c.program, out)
		}
	}
}

// findmnt is what findmnt -n prints with args, trimmed: "" when nothing is
// mounted there.
func findmnt(args ...string) string {
	out, _ := exec.Command("findmnt", append([]string{"-n"}, args...)...).Output()
	return strings.TrimSpace(string(out))
}
