package lab

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The sandbox: a lab that needs no privilege. The binary re-executes
// itself (as Spawn does) into new user, mount, network and PID namespaces:
//
//	caller (the learner's shell, or a server)
//	└─ init     PID 1 of the new PID namespace: reaps, relays the exit code
//	   └─ lab   nslab ARGS: makes the sandbox's mounts, brings lo up, runs
//
// (UTS, IPC, cgroup and time namespaces are new too: see sandboxFlags.)
// The user is mapped to 0 inside, so the lab is root over namespaces of its
// own and nothing else. The sandbox's network namespace is the lab's
// "host"; /run (with its own empty /run/netns and /run/nslab) and /proc are
// its own. When the init dies, however it dies, the kernel kills every
// process in its PID namespace, and with the last of them every namespace
// the lab made is freed: nothing is left to clean up. The init dies when
// the lab ends, and when the caller dies (the parent-death signal, and a
// pipe whose far end only the caller holds).

// sandboxFlags are the namespaces of a sandbox: user, mount, network and
// PID make it; UTS, IPC, cgroup and time namespaces of its own as well (as
// far as the kernel has them), because a namespace the machine's user
// namespace owns cannot be entered from inside, not even the one a process
// is in: `nsenter -a` into a lesson's child would fail on it.
func sandboxFlags() uintptr {
	flags := uintptr(unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWNET | unix.CLONE_NEWPID)
	for _, t := range []struct {
		file string
		flag uintptr
	}{{"uts", unix.CLONE_NEWUTS}, {"ipc", unix.CLONE_NEWIPC}, {"cgroup", unix.CLONE_NEWCGROUP}, {"time", unix.CLONE_NEWTIME}} {
		if _, err := os.Stat("/proc/self/ns/" + t.file); err == nil {
			flags |= t.flag
		}
	}
	return flags
}

var (
	inSandboxOnce sync.Once
	inSandbox     *SandboxInfo
)

// InSandbox reports whether this process runs inside an nslab sandbox, and
// what the sandbox recorded about the machine. The environment says so and
// the kernel confirms it: this process's user namespace is not the one the
// sandbox recorded as the machine's.
func InSandbox() (*SandboxInfo, bool) {
	inSandboxOnce.Do(func() {
		info := sandboxInfo()
		if info == nil || info.Machine["user"] == 0 {
			return
		}
		if ino, err := nsInode("self", "user"); err == nil && ino != info.Machine["user"] {
			inSandbox = info
		}
	})
	return inSandbox, inSandbox != nil
}

// ChooseMode says where a lab started by this process runs, and why: in
// the sandbox it is already in; in a new sandbox (asked for, or this user
// lacks the privileges of host mode); or on the machine (root).
func ChooseMode(askSandbox bool) (Mode, string) {
	if info, ok := InSandbox(); ok {
		return ModeSandbox, info.Why
	}
	if askSandbox || os.Getenv(SandboxEnv) == "1" {
		return ModeSandbox, "asked for (--sandbox): the lab runs in a sandbox of its own"
	}
	if CheckPrivileges() != nil {
		return ModeSandbox, fmt.Sprintf("%s is not root: the lab runs in a sandbox of its own, where it is", userLabel(os.Getuid()))
	}
	return ModeHost, "root: the lab works on the machine itself (--sandbox puts it in a sandbox)"
}

// Sandbox is a running sandbox.
type Sandbox struct {
	// PID is the process the caller started: the sandbox's init, or, with
	// Credential, nslab running as that account, whose child the init is.
	PID int
	// InitPID is the sandbox's init (PID 1 inside) as the caller sees it.
	InitPID int
	// IDs is the id mapping ("0 1000 1" or "0 1000 1, 1 100000 65536").
	IDs string

	cmd  *exec.Cmd
	life *os.File // the far end of the init's life pipe; closed when the init is gone
	done chan struct{}
	err  error
}

// StartSandbox starts opt.Args in a new sandbox and returns once the lab
// inside has made the sandbox's mounts (or failed to: the error says why).
// The sandbox lives until the lab exits, Kill, or the caller's death.
func StartSandbox(opt SandboxOptions) (*Sandbox, error) {
	if opt.Credential != nil {
		return startAs(opt)
	}
	if os.Geteuid() != 0 {
		if err := UnprivilegedUserNS(); err != nil {
			return nil, sandboxRefused(err)
		}
	}
	machine, err := namespacesOf("self")
	if err != nil {
		return nil, fmt.Errorf("read this process's namespaces: %w", err)
	}
	info := SandboxInfo{Machine: machine, UID: os.Getuid(), GID: os.Getgid(), Why: opt.Why, Limits: opt.Limits}
	ids := chooseIDMaps(info.UID, info.GID)
	sb, err := startInit(opt, info, ids)
	if err != nil && ids.helper {
		// newuidmap refused the range (a stale /etc/subuid, say): one id
		// still makes a sandbox in which every lesson but the ones that
		// need other users' ids runs.
		ids = singleIDMaps(info.UID, info.GID)
		sb, err = startInit(opt, info, ids)
	}
	return sb, err
}

// startInit starts the sandbox's init with the given id maps and waits for
// the lab inside to report that the sandbox is set up.
func startInit(opt SandboxOptions, info SandboxInfo, ids idMaps) (*Sandbox, error) {
	info.IDs, info.Range = ids.String(), ids.ranged()
	state, _ := json.Marshal(info)
	goR, goW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer goR.Close()
	defer goW.Close()
	lifeR, lifeW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer lifeR.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		lifeW.Close()
		return nil, err
	}
	defer readyR.Close()
	defer readyW.Close()

	cmd := selfCommand(opt, "nslab-sandbox:init", []string{sandboxStateEnv + "=" + string(state)}, sandboxStateEnv, sandboxReadyEnv, prefixEnv)
	cmd.ExtraFiles = []*os.File{goR, lifeR, readyW} // fds 3, 4, 5 of the init
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: sandboxFlags(), Setsid: opt.Setsid, Setctty: opt.Setctty}
	if !ids.helper {
		cmd.SysProcAttr.UidMappings = ids.uid
		cmd.SysProcAttr.GidMappings = ids.gid
		// An unprivileged user may write a gid map only after denying
		// setgroups; root may keep it.
		cmd.SysProcAttr.GidMappingsEnableSetgroups = os.Geteuid() == 0
	}

	sb := &Sandbox{IDs: ids.String(), cmd: cmd, life: lifeW, done: make(chan struct{})}
	if err := sb.start(); err != nil {
		lifeW.Close()
		return nil, sandboxStartError(err)
	}
	sb.PID, sb.InitPID = cmd.Process.Pid, cmd.Process.Pid
	goR.Close()
	lifeR.Close()
	readyW.Close()
	if ids.helper {
		if err := ids.apply(sb.PID); err != nil {
			sb.Kill()
			sb.Wait()
			return nil, err
		}
	}
	goW.Write([]byte{'g'}) // the maps are in place: start the lab
	goW.Close()
	if err := waitReady(sb, readyR); err != nil {
		sb.Kill()
		sb.Wait()
		return nil, err
	}
	return sb, nil
}

// start starts the sandbox's command and waits for it in the background.
// The parent-death signal fires when the *thread* that forked the child
// exits, not the process: fork from a goroutine locked to its thread, and
// keep it there, waiting, for as long as the child lives.
func (s *Sandbox) start() error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := s.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		s.err = s.cmd.Wait()
		if s.life != nil {
			s.life.Close()
		}
		close(s.done)
	}()
	return <-started
}

// selfCommand runs this binary as argv0 with opt's arguments, files,
// directory and environment (without the variables drop, plus add).
func selfCommand(opt SandboxOptions, argv0 string, add []string, drop ...string) *exec.Cmd {
	cmd := exec.Command("/proc/self/exe", opt.Args...)
	cmd.Args = append([]string{argv0}, opt.Args...)
	env := opt.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(withoutEnv(env, drop...), add...)
	cmd.Dir = opt.Dir
	setStdio(cmd, opt)
	return cmd
}

// waitReady reads the lab's first report: "ok" once the sandbox is set up,
// or "error: WHY". End of file means the lab died first.
func waitReady(sb *Sandbox, r *os.File) error {
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	select {
	case l := <-line:
		switch {
		case l == "ok":
			return nil
		case strings.HasPrefix(l, "error: "):
			return fmt.Errorf("sandbox: %s", strings.TrimPrefix(l, "error: "))
		}
		<-sb.done
		return fmt.Errorf("sandbox: the lab ended before the sandbox was ready (%v)", sb.err)
	case <-time.After(60 * time.Second):
		return errors.New("sandbox: the lab did not report within 60s")
	}
}

// Wait waits for the sandbox to end and returns the lab's exit code (128+N
// for a lab killed by signal N, as a shell reports it).
func (s *Sandbox) Wait() (int, error) {
	<-s.done
	var ee *exec.ExitError
	switch {
	case s.err == nil:
		return 0, nil
	case errors.As(s.err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	return 1, s.err
}

// Done is closed when the sandbox has ended.
func (s *Sandbox) Done() <-chan struct{} { return s.done }

// Kill ends the sandbox at once: the init dies, and the kernel kills every
// process inside and frees every namespace.
func (s *Sandbox) Kill() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	err := s.cmd.Process.Kill()
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// Signal sends sig to the lab inside the sandbox (not to its init, which
// ignores it): a SIGTERM, say, lets the lab end its lesson and exit.
func (s *Sandbox) Signal(sig os.Signal) error {
	select {
	case <-s.done:
		return os.ErrProcessDone
	default:
	}
	if s.PID != s.InitPID { // nslab as another account: it relays
		return s.cmd.Process.Signal(sig)
	}
	sysSig, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("signal %v: not a system signal", sig)
	}
	pid, ok := labInside(s.InitPID)
	if !ok {
		return s.Kill() // no lab yet: nothing inside can end gracefully
	}
	return syscall.Kill(pid, sysSig)
}

// labInside finds the lab process of a sandbox: the oldest child of its
// init (the init starts it first; processes orphaned later are adopted by
// the init after it). Its PID inside is not 2: the init's threads took the
// first numbers.
func labInside(initPID int) (int, bool) {
	// A child is listed under the thread that forked it, and the init is
	// a Go program: look under every thread.
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", initPID))
	var kids []string
	for _, t := range tasks {
		if b, err := os.ReadFile(t); err == nil {
			kids = append(kids, strings.Fields(string(b))...)
		}
	}
	best, bestStart := 0, uint64(0)
	for _, f := range kids {
		pid, _ := strconv.Atoi(f)
		st, err := procStartTime(pid)
		if err == nil && (best == 0 || st < bestStart) {
			best, bestStart = pid, st
		}
	}
	return best, best != 0
}

// SandboxLab is the PID of the lab process in the sandbox whose init is
// initPID (as this process sees it).
func SandboxLab(initPID int) (int, bool) { return labInside(initPID) }

// setStdio gives the sandbox the caller's files as they are (a nil file
// stays a nil interface: /dev/null).
func setStdio(cmd *exec.Cmd, opt SandboxOptions) {
	if opt.Stdin != nil {
		cmd.Stdin = opt.Stdin
	}
	if opt.Stdout != nil {
		cmd.Stdout = opt.Stdout
	}
	if opt.Stderr != nil {
		cmd.Stderr = opt.Stderr
	}
}

// withoutEnv drops the named variables from env.
func withoutEnv(env []string, names ...string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || k == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// sandboxStartError explains a failed clone of the sandbox's init.
func sandboxStartError(err error) error {
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EINVAL) {
		if why := UnprivilegedUserNS(); why != nil {
			return sandboxRefused(why)
		}
		return sandboxRefused(fmt.Errorf("the kernel refused new user namespaces (%v)", unwrapSyscall(err)))
	}
	return fmt.Errorf("start the sandbox: %w", err)
}

// sandboxRefused says that this machine does not let this user make a
// sandbox, and what would. It wraps ErrUnsupported.
func sandboxRefused(why error) error {
	return &refusedError{fmt.Sprintf("cannot make the lab's sandbox: unprivileged user namespaces are %s; %s; or run nslab as root, which needs no sandbox (`nslab doctor` says more)",
		strings.TrimSuffix(why.Error(), ": "+ErrUnsupported.Error()), UserNSFix(why))}
}

type refusedError struct{ msg string }

func (e *refusedError) Error() string { return e.msg }
func (e *refusedError) Unwrap() error { return ErrUnsupported }

// namespacesOf reads the namespace inodes of a process ("self" or a PID),
// by type.
func namespacesOf(pid string) (map[string]uint64, error) {
	out := map[string]uint64{}
	for _, t := range []string{"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"} {
		if ino, err := nsInode(pid, t); err == nil {
			out[t] = ino
		}
	}
	if out["user"] == 0 {
		return nil, errors.New("cannot read /proc/" + pid + "/ns/user")
	}
	return out, nil
}

// nsInode is the inode of /proc/PID/ns/TYPE.
func nsInode(pid, typ string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+pid+"/ns/"+typ, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}
