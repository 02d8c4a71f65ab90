package lab_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/probe"
)

// helperEnv makes the test binary, started inside a sandbox, run
// TestSandboxHelper as the lab: it reports what it sees and exits.
const helperEnv = "NSLAB_SANDBOX_TEST_HELPER"

// helperArgs run TestSandboxHelper alone in the re-executed test binary.
var helperArgs = []string{"-test.run=^TestSandboxHelper$", "-test.count=1"}

// TestSandboxHelper is the lab inside the sandboxes of these tests; run
// directly, it does nothing.
func TestSandboxHelper(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if _, inside := lab.InSandbox(); !inside && os.Getenv(lab.SandboxEnv) == "1" && mode != "" {
		// Started as another account by StartSandbox (Credential): make
		// the sandbox, as nslab's main does.
		code, err := lab.RunInSandbox(os.Args[1:], "a server started it for this account")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(code)
	}
	switch mode {
	case "":
		return
	case "report":
		// What a user would check inside: who am I, what is in /run/netns,
		// is lo up, which PID am I, and the namespaces I am in.
		ents, _ := os.ReadDir(lab.NetnsDir)
		lo, _ := os.ReadFile("/sys/class/net/lo/operstate")
		self, _ := os.Readlink("/proc/self/ns/net")
		one, _ := os.Readlink("/proc/1/ns/net")
		comm, _ := os.ReadFile("/proc/1/comm")
		info, inside := lab.InSandbox()
		fmt.Printf("uid=%d netns=%d pid=%d init=%s same-net-as-init=%v inside=%v machine-net=%d lo=%s\n",
			os.Geteuid(), len(ents), os.Getpid(), strings.TrimSpace(string(comm)), self == one, inside, info.Machine["net"], strings.TrimSpace(string(lo)))
		// What the panels call PID 1's namespaces and the learner's.
		var st unix.Stat_t
		unix.Stat("/proc/1/ns/net", &st)
		names := probe.LoadNames()
		fmt.Printf("pid1-is=%q machine-is=%q\n", names.Name("net", st.Ino), names.Name("user", info.Machine["user"]))
		// A namespace of the lab's own, made the lab's way.
		s, err := lab.NewSession(lab.Options{})
		if err != nil {
			fmt.Println("session:", err)
			os.Exit(3)
		}
		ns, err := s.AddNetns("inside")
		if err != nil {
			fmt.Println("netns add:", err)
			os.Exit(3)
		}
		fmt.Printf("made %s ino=%d\n", lab.SysName("inside"), ns.Inode())
		ns.Close()
		os.Exit(7) // the caller checks that the code comes back
	case "limits":
		// What a learner bounded by SandboxLimits meets: the rlimits, a
		// write to the machine's files, to /tmp, and namespaces past the cap.
		var nproc, data unix.Rlimit
		unix.Getrlimit(unix.RLIMIT_NPROC, &nproc)
		unix.Getrlimit(unix.RLIMIT_DATA, &data)
		fmt.Printf("nproc=%d/%d data=%d\n", nproc.Cur, nproc.Max, data.Cur)
		err := os.WriteFile("/var/tmp/nslab-limits-test", []byte("x"), 0o644)
		fmt.Printf("machine-write=%v\n", errors.Is(err, unix.EROFS))
		fmt.Printf("tmp-write=%v\n", os.WriteFile("/tmp/x", []byte("x"), 0o644))
		fmt.Printf("raise-nproc=%v\n", unix.Setrlimit(unix.RLIMIT_NPROC, &unix.Rlimit{Cur: nproc.Max + 1, Max: nproc.Max + 1}))
		s, _ := lab.NewSession(lab.Options{})
		made := 0
		for i := range 6 {
			if _, err := s.AddNetns(fmt.Sprintf("cap%d", i)); err != nil {
				fmt.Printf("netns-refused=%v\n", err)
				break
			}
			made++
		}
		fmt.Printf("netns-made=%d\n", made)
		s.Close()
		os.Exit(0)
	case "sleep":
		fmt.Println("ready")
		time.Sleep(time.Hour)
	case "exit":
		os.Exit(0)
	}
}

// startHelper starts this test binary in a sandbox made with opt, as
// TestSandboxHelper in mode; output waits for it to exit and returns its
// exit code and everything it printed.
func startHelper(t *testing.T, mode string, opt lab.SandboxOptions) (sb *lab.Sandbox, output func() (int, string, error)) {
	t.Helper()
	r, w, _ := os.Pipe()
	opt.Args, opt.Stdout, opt.Stderr = helperArgs, w, w
	opt.Env = append(os.Environ(), helperEnv+"="+mode)
	sb, err := lab.StartSandbox(opt)
	w.Close()
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	return sb, func() (int, string, error) {
		defer r.Close()
		out, _ := io.ReadAll(r)
		code, err := sb.Wait()
		return code, string(out), err
	}
}

func TestASandboxIsRootOverItsOwnNamespacesAndReturnsTheLabsExitCode(t *testing.T) {
	labtest.RequireRoot(t)
	before := machineNetns(t)
	_, output := startHelper(t, "report", lab.SandboxOptions{})
	code, got, err := output()
	if err != nil || code != 7 {
		t.Fatalf("exit code %d, %v; want 7 (the lab's own)\n%s", code, err, got)
	}
	machine, _ := os.Readlink("/proc/self/ns/net")
	for _, want := range []string{"uid=0 ", "netns=0 ", "init=nslab-sandbox ", "same-net-as-init=true", "inside=true", "made nslab-inside", `pid1-is="lab host"`, `machine-is="machine"`} {
		if !strings.Contains(got, want) {
			t.Errorf("inside the sandbox: want %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "pid=1 ") {
		t.Errorf("the lab is PID 1 itself; its init should be:\n%s", got)
	}
	if !strings.Contains(got, "machine-net="+strings.Trim(strings.TrimPrefix(machine, "net:"), "[]")) {
		t.Errorf("the sandbox did not record the machine's network namespace (%s):\n%s", machine, got)
	}
	for name := range machineNetns(t) {
		if !before[name] && strings.HasSuffix(name, "-inside") {
			t.Errorf("the lab's namespace appeared on the machine: %s", name)
		}
	}
}

// The caller killed with -9: the kernel ends the sandbox (the init's
// parent-death signal, then every process of its PID namespace), and no
// namespace of it stays.
func TestASandboxDiesWithItsCaller(t *testing.T) {
	labtest.RequireRoot(t)
	// The caller is a child of this test: it starts the sandbox and
	// prints the init's PID; then the test kills it.
	labtest.Subreaper(t)
	caller := labtest.TestCmd(os.Args[0], "TestSandboxCaller", "NSLAB_SANDBOX_TEST_CALLER=1")
	out, _ := caller.StdoutPipe()
	caller.Stderr = os.Stderr
	if err := caller.Start(); err != nil {
		t.Fatal(err)
	}
	var initPID, labPID int
	var userNS uint64
	buf := make([]byte, 256)
	n, _ := out.Read(buf)
	if _, err := fmt.Sscanf(string(buf[:n]), "init %d lab %d user %d", &initPID, &labPID, &userNS); err != nil {
		caller.Process.Kill()
		caller.Wait()
		t.Fatalf("caller said %q: %v", buf[:n], err)
	}
	initStart, labStart := labtest.ProcStart(initPID), labtest.ProcStart(labPID)
	killed := labtest.UptimeTicks()
	caller.Process.Kill()
	caller.Wait()
	labtest.Eventually(10*time.Second, func() bool {
		return !lab.ProcAlive(initPID, initStart) && !lab.ProcAlive(labPID, labStart)
	})
	var ws unix.WaitStatus
	unix.Wait4(initPID, &ws, 0, nil) // the orphaned init, as PID 1 would
	if lab.ProcAlive(initPID, initStart) || lab.ProcAlive(labPID, labStart) {
		t.Fatalf("the sandbox (init %d, lab %d) outlived its caller", initPID, labPID)
	}
	if pid := heldBefore(t, userNS, killed); pid != 0 {
		t.Errorf("lsns still lists the sandbox's user namespace user:[%d], held by pid %d", userNS, pid)
	}
}

// TestSandboxCaller is the caller TestASandboxDiesWithItsCaller kills.
func TestSandboxCaller(t *testing.T) {
	if os.Getenv("NSLAB_SANDBOX_TEST_CALLER") == "" {
		return
	}
	os.Unsetenv("NSLAB_SANDBOX_TEST_CALLER")
	sb, err := lab.StartSandbox(lab.SandboxOptions{Args: helperArgs, Env: append(os.Environ(), helperEnv+"=sleep")})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	labPID, _ := lab.SandboxLab(sb.InitPID)
	fmt.Printf("init %d lab %d user %d\n", sb.InitPID, labPID, labtest.NsIno(t, sb.InitPID, "user"))
	sb.Wait()
	os.Exit(0)
}

// BenchmarkSandboxStart times StartSandbox until the lab inside reports
// ready (its mounts made, lo up); cpu-ms/op is the CPU time of the whole
// sandbox, start to exit, init and lab included (getrusage of waited-for
// children): what a start costs whatever else the machine is doing.
func BenchmarkSandboxStart(b *testing.B) {
	labtest.RequireRoot(b)
	before := labtest.CPUChildren()
	defer func() {
		cpu := labtest.CPUChildren() - before
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}()
	for b.Loop() {
		sb, err := lab.StartSandbox(lab.SandboxOptions{Args: helperArgs, Stderr: os.Stderr, Env: append(os.Environ(), helperEnv+"=exit")})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if code, err := sb.Wait(); code != 0 || err != nil {
			b.Fatalf("exit %d %v", code, err)
		}
		b.StartTimer()
	}
}

func TestTheRegistryListsARunningLabUntilItIsReleased(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	if os.Getuid() == 0 {
		t.Skip("root's registry is machine-wide (/run/nslab/labs): tested through nslab shell")
	}
	os.Chmod(os.Getenv("XDG_RUNTIME_DIR"), 0o700)
	release, err := lab.Register(lab.RunningLab{PID: os.Getpid(), Mode: lab.ModeHost, Command: "nslab test"})
	if err != nil {
		t.Fatal(err)
	}
	labs, _ := lab.RunningLabs()
	if len(labs) != 1 || labs[0].PID != os.Getpid() {
		t.Fatalf("running labs = %+v", labs)
	}
	release()
	if labs, _ := lab.RunningLabs(); len(labs) != 0 {
		t.Fatalf("after release: %+v", labs)
	}
}

func machineNetns(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	ents, _ := os.ReadDir(lab.NetnsDir)
	for _, e := range ents {
		out[e.Name()] = true
	}
	return out
}

// heldBefore returns a process that lsns says holds namespace ino and that
// started before ticks, or 0. An inode is reused only once its namespace is
// gone, so a holder started later holds another namespace of that number.
func heldBefore(t *testing.T, ino uint64, ticks uint64) int {
	pid, ok := labtest.LsnsHeld(t, "")[ino]
	if st := labtest.ProcStart(pid); ok && st != 0 && st < ticks {
		return pid
	}
	return 0
}

// A root server puts a learner in a sandbox as the learner's own account:
// nslab starts as that account and makes the sandbox itself, so the
// sandbox's user namespace is the account's, as if it had run nslab.
func TestASandboxForAnotherAccount(t *testing.T) {
	labtest.RequireRoot(t)
	if os.Getenv("NSLAB_SANDBOX_TEST_SERVER") == "" {
		// Run as a copy of this binary that nobody (65534) may execute.
		dir, err := os.MkdirTemp("", "nslab-sandbox-test-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		os.Chmod(dir, 0o755)
		b, _ := os.ReadFile("/proc/self/exe")
		bin := filepath.Join(dir, "lab.test")
		os.WriteFile(bin, b, 0o755)
		cmd := labtest.TestCmd(bin, "TestASandboxForAnotherAccount", "NSLAB_SANDBOX_TEST_SERVER=1")
		cmd.Args = append(cmd.Args, "-test.v")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		t.Logf("%s", out)
		return
	}
	sb, output := startHelper(t, "report", lab.SandboxOptions{Dir: "/", Credential: &syscall.Credential{Uid: 65534, Gid: 65534}})
	owner, err := nsOwnerUID(sb.InitPID)
	if err != nil || owner != 65534 || sb.IDs != "0 65534 1" || sb.PID == sb.InitPID {
		t.Errorf("the sandbox's user namespace belongs to uid %d (%v), maps %q; nslab pid %d, init %d: want nobody's, 0 65534 1", owner, err, sb.IDs, sb.PID, sb.InitPID)
	}
	if code, out, _ := output(); code != 7 || !strings.Contains(out, "uid=0 ") || !strings.Contains(out, "made nslab-inside") {
		t.Errorf("exit %d, want the lab's 7:\n%s", code, out)
	}
}

// nsOwnerUID is the uid that owns the user namespace of pid.
func nsOwnerUID(pid int) (int, error) {
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/user", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(fd)
	uid, err := unix.IoctlGetUint32(fd, unix.NS_GET_OWNER_UID)
	return int(uid), err
}

// Limits a server gives a learner's sandbox hold inside it, and root
// there cannot lift them.
func TestASandboxKeepsItsLimits(t *testing.T) {
	labtest.RequireRoot(t)
	_, output := startHelper(t, "limits", lab.SandboxOptions{Limits: &lab.SandboxLimits{Procs: 200, Memory: 1 << 30, Namespaces: 4, ReadOnly: true}})
	_, got, _ := output()
	for _, want := range []string{"nproc=200/200 ", "data=1073741824", "machine-write=true", "tmp-write=<nil>", "raise-nproc=operation not permitted", "netns-refused=", "netns-made=3"} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in\n%s", want, got)
		}
	}
	if _, err := os.Stat("/var/tmp/nslab-limits-test"); err == nil {
		os.Remove("/var/tmp/nslab-limits-test")
		t.Error("the sandbox wrote a file of the machine")
	}
}
