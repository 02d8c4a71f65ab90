package lab

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Namespace types a spawned child can get, with their clone flags, in the
// order /proc/PID/ns lists them.
var cloneFlags = map[string]uintptr{
	"cgroup": unix.CLONE_NEWCGROUP,
	"ipc":    unix.CLONE_NEWIPC,
	"mnt":    unix.CLONE_NEWNS,
	"net":    unix.CLONE_NEWNET,
	"pid":    unix.CLONE_NEWPID,
	"time":   unix.CLONE_NEWTIME,
	"user":   unix.CLONE_NEWUSER,
	"uts":    unix.CLONE_NEWUTS,
}

// NamespaceTypes lists the types Spawn accepts.
func NamespaceTypes() []string {
	out := make([]string, 0, len(cloneFlags))
	for k := range cloneFlags {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// IDMap maps a range of IDs inside a user namespace to IDs outside.
type IDMap struct{ Inside, Outside, Count int }

func (m IDMap) String() string { return fmt.Sprintf("%d %d %d", m.Inside, m.Outside, m.Count) }

// SpawnOptions describe a child in new namespaces.
type SpawnOptions struct {
	Name       string   // learner's name, unique in the session
	Namespaces []string // new namespaces: net, uts, pid, mnt, user, ipc, cgroup, time
	Hostname   string   // set inside a new UTS namespace
	UIDMap     []IDMap  // written before the child starts (user namespace)
	GIDMap     []IDMap
	// Propagation for a new mount namespace: "private" (the default, as
	// unshare(1) does) or "shared" (keep the host's, systemd's default).
	Propagation string
	// MountProc mounts a fresh /proc (new pid + mnt namespaces), so ps
	// shows only the child's processes.
	MountProc bool
	Command   []string // run this as the child instead of waiting
	Output    io.Writer
	// Setup, if set, is run by the child inside its namespaces before it
	// waits (see ChildSetup); Proc.Note says what it reported.
	Setup *ChildSetup
}

// Proc is a child process the session spawned in new namespaces.
type Proc struct {
	Name       string
	PID        int
	Start      uint64
	Namespaces []string
	Note       string // what the child's Setup reported
	cmd        *exec.Cmd
	done       chan struct{}
	err        error
}

// Exited reports whether the child has exited, and how.
func (p *Proc) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// initEnv carries the child's setup to the re-executed binary.
const initEnv = "NSLAB_INIT"

type initConfig struct {
	Hostname    string      `json:"hostname,omitempty"`
	Propagation string      `json:"propagation,omitempty"`
	MountProc   bool        `json:"mount_proc,omitempty"`
	Command     []string    `json:"command,omitempty"`
	Setup       *ChildSetup `json:"setup,omitempty"`
}

// Spawn starts a child in new namespaces by re-executing this binary
// (/proc/self/exe) as its init, the way runc and moby's reexec do: the
// binary's main (or TestMain) must call Init first. Settings that must be
// made inside (hostname, mounts) are made by the child, never the parent:
// a Sethostname in the parent before starting the child would change the
// host's. The child waits until it is killed (or runs Command).
func (s *Session) Spawn(opt SpawnOptions) (*Proc, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	if err := checkProcLimit(); err != nil {
		return nil, fmt.Errorf("spawn %s: %w", opt.Name, err)
	}
	if err := validChars("process", opt.Name); err != nil || opt.Name == "" {
		return nil, fmt.Errorf("spawn: give the child a name of letters, digits, '-', '_': %w", ErrInvalid)
	}
	s.mu.Lock()
	_, dup := s.procs[opt.Name]
	s.mu.Unlock()
	if dup {
		return nil, fmt.Errorf("spawn %s: a child of that name is running: %w", opt.Name, ErrExists)
	}
	var flags uintptr
	for _, t := range opt.Namespaces {
		f, ok := cloneFlags[t]
		if !ok {
			return nil, fmt.Errorf("spawn %s: unknown namespace type %q: %w: use %s", opt.Name, t, ErrInvalid, strings.Join(NamespaceTypes(), ", "))
		}
		flags |= f
	}
	has := func(t string) bool { return slices.Contains(opt.Namespaces, t) }
	if opt.Hostname != "" && !has("uts") {
		return nil, fmt.Errorf("spawn %s: hostname needs a new uts namespace, or it would rename the host: %w", opt.Name, ErrInvalid)
	}
	if opt.MountProc && !(has("pid") && has("mnt")) {
		return nil, fmt.Errorf("spawn %s: mounting /proc needs new pid and mnt namespaces: %w", opt.Name, ErrInvalid)
	}
	if (len(opt.UIDMap) > 0 || len(opt.GIDMap) > 0) && !has("user") {
		return nil, fmt.Errorf("spawn %s: uid/gid maps need a new user namespace: %w", opt.Name, ErrInvalid)
	}
	switch opt.Propagation {
	case "", "private", "shared":
	default:
		return nil, fmt.Errorf("spawn %s: propagation %q: %w: use private or shared", opt.Name, opt.Propagation, ErrInvalid)
	}
	if opt.Propagation != "" && !has("mnt") {
		return nil, fmt.Errorf("spawn %s: propagation applies to a new mnt namespace: %w", opt.Name, ErrInvalid)
	}
	if opt.Setup != nil && len(opt.Command) > 0 {
		return nil, fmt.Errorf("spawn %s: a setup runs in the lab's own child, not with a command: %w", opt.Name, ErrInvalid)
	}
	if opt.Setup != nil && childSetup(opt.Setup.Name) == nil {
		return nil, fmt.Errorf("spawn %s: no child setup %q is registered: %w", opt.Name, opt.Setup.Name, ErrInvalid)
	}
	cfg, _ := json.Marshal(initConfig{Hostname: opt.Hostname, Propagation: opt.Propagation, MountProc: opt.MountProc, Command: opt.Command, Setup: opt.Setup})

	ready, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer ready.Close()
	cmd := Reexec("init", opt.Name)
	cmd.Env = append(cmd.Env, initEnv+"="+string(cfg))
	// The lab's names, as exec and nslab shell give them ($NS_demo): a
	// child's command may name one of the lab's namespaces.
	cmd.Env = append(cmd.Env, s.NameVars()...)
	cmd.ExtraFiles = []*os.File{readyW} // fd 3
	if opt.Output != nil {
		cmd.Stdout, cmd.Stderr = opt.Output, opt.Output
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags, Setpgid: true}
	for _, m := range opt.UIDMap {
		cmd.SysProcAttr.UidMappings = append(cmd.SysProcAttr.UidMappings, syscall.SysProcIDMap{ContainerID: m.Inside, HostID: m.Outside, Size: m.Count})
	}
	for _, m := range opt.GIDMap {
		cmd.SysProcAttr.GidMappings = append(cmd.SysProcAttr.GidMappings, syscall.SysProcIDMap{ContainerID: m.Inside, HostID: m.Outside, Size: m.Count})
	}
	if len(opt.GIDMap) > 0 {
		cmd.SysProcAttr.GidMappingsEnableSetgroups = false
	}
	if err := cmd.Start(); err != nil {
		readyW.Close()
		if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EPERM) {
			return nil, fmt.Errorf("spawn %s in new %v namespaces: %w", opt.Name, opt.Namespaces, errnoKind(unwrapSyscall(err)))
		}
		return nil, fmt.Errorf("spawn %s: %w", opt.Name, err)
	}
	readyW.Close()
	start, _ := procStartTime(cmd.Process.Pid)
	e := Entry{Kind: KindProc, Label: opt.Name, PID: cmd.Process.Pid, Start: start}
	// The journal entry follows the fork here: a PID does not exist before
	// it. A crash between the two leaves the child in our process group,
	// which dies with a terminal's Ctrl-C and is found by Cleanup through
	// its nslab-init name.
	if err := s.journal.Add(e); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, err
	}
	p := &Proc{Name: opt.Name, PID: cmd.Process.Pid, Start: start, Namespaces: opt.Namespaces, cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()

	// Wait for the child to report its setup.
	msg := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(ready).ReadString('\n')
		msg <- strings.TrimSpace(line)
	}()
	var status string
	select {
	case status = <-msg:
	case <-time.After(10 * time.Second):
		status = "child did not report within 10s"
	}
	note, isOK := strings.CutPrefix(status, "ok")
	if !isOK {
		cmd.Process.Kill()
		<-p.done
		s.journal.Done(e)
		if status == "" {
			status = fmt.Sprintf("child exited during setup (%v)", p.err)
		}
		return nil, fmt.Errorf("spawn %s: %s", opt.Name, status)
	}
	p.Note = strings.TrimSpace(note)
	s.mu.Lock()
	s.procs[opt.Name] = p
	s.mu.Unlock()
	return p, nil
}

func unwrapSyscall(err error) error {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}

// Proc returns the spawned child of that name.
func (s *Session) Proc(name string) (*Proc, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.procs[name]
	return p, ok
}

// Procs lists the spawned children.
func (s *Session) Procs() []*Proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.SortedFunc(maps.Values(s.procs), func(a, b *Proc) int { return strings.Compare(a.Name, b.Name) })
}

// Kill stops a spawned child and waits for it; its namespaces die with it
// unless something else holds them.
func (s *Session) Kill(name string) error {
	s.mu.Lock()
	p, ok := s.procs[name]
	delete(s.procs, name)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("process %s: %w", name, ErrNotFound)
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	// Our cached handles would keep the child's namespace (and every link
	// in it) alive after the child is gone.
	s.dropNs("proc:" + name)
	return s.journal.Done(Entry{Kind: KindProc, PID: p.PID, Start: p.Start})
}

// WriteIDMaps writes uid and gid maps for a child in a new user namespace
// that started without them, as newuidmap would.
func (p *Proc) WriteIDMaps(uids, gids []IDMap) error {
	write := func(file string, ms []IDMap) error {
		var b strings.Builder
		for _, m := range ms {
			b.WriteString(m.String() + "\n")
		}
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/%s", p.PID, file), []byte(b.String()), 0); err != nil {
			return fmt.Errorf("write %s of %s: %w (a map can be written only once)", file, p.Name, unwrapPathErr(err))
		}
		return nil
	}
	if len(gids) > 0 {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/setgroups", p.PID), []byte("deny"), 0); err != nil {
			return fmt.Errorf("write setgroups of %s: %w", p.Name, err)
		}
	}
	if err := write("uid_map", uids); err != nil {
		return err
	}
	if len(gids) > 0 {
		return write("gid_map", gids)
	}
	return nil
}

// killRecorded kills a process from a journal entry, but only if the PID
// still names the same process (its start time matches).
func killRecorded(e Entry, wait time.Duration) error {
	st, err := procStartTime(e.PID)
	if err != nil || st != e.Start {
		return nil // exited, or the PID was reused: not ours
	}
	if err := syscall.Kill(e.PID, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
		return fmt.Errorf("kill %s: %w", e, err)
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if st, err := procStartTime(e.PID); err != nil || st != e.Start || procZombie(e.PID) {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("%s did not exit after SIGKILL", e)
}

func init() {
	RegisterInit("init", childInit)
	// A child's main thread is the one /proc/PID/ns/* shows. Hold it for
	// the main goroutine, which never switches, so that a setup's
	// goroutines (the naive ones of lab/script's switch demo) cannot drag
	// it into the tenant: the lesson compares
	// the process (still in the host) with its threads (some not). Locking
	// in init is what keeps main on the main thread.
	if strings.HasPrefix(os.Args[0], "nslab-init:") {
		runtime.LockOSThread()
	}
}

// childInit is a spawned child's setup, run by the re-executed binary inside
// its new namespaces; it then waits to be killed or execs Command.
func childInit() {
	cfgText := os.Getenv(initEnv)
	os.Unsetenv(initEnv)
	os.Unsetenv("NSLAB_PARENT")
	ready := os.NewFile(3, "ready")
	fail := func(format string, a ...any) {
		fmt.Fprintf(ready, format+"\n", a...)
		os.Exit(1)
	}
	var cfg initConfig
	if err := json.Unmarshal([]byte(cfgText), &cfg); err != nil {
		fail("bad init config: %v", err)
	}
	if cfg.Propagation == "private" || cfg.MountProc && cfg.Propagation == "" {
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			fail("make mounts private: %v", err)
		}
	}
	if cfg.MountProc {
		if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			fail("mount /proc: %v", err)
		}
	}
	if cfg.Hostname != "" {
		if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
			fail("set hostname: %v", err)
		}
	}
	if len(cfg.Command) > 0 {
		path, err := exec.LookPath(cfg.Command[0])
		if err != nil {
			fail("%v", err)
		}
		fmt.Fprintln(ready, "ok")
		ready.Close()
		err = syscall.Exec(path, cfg.Command, os.Environ())
		fmt.Fprintf(os.Stderr, "exec %s: %v\n", cfg.Command[0], err)
		os.Exit(127)
	}
	note := ""
	if cfg.Setup != nil {
		fn := childSetup(cfg.Setup.Name)
		if fn == nil {
			fail("no child setup %q in this binary", cfg.Setup.Name)
		}
		n, err := fn(cfg.Setup.Arg)
		if err != nil {
			fail("%s: %v", cfg.Setup.Name, err)
		}
		note = " " + n
	}
	fmt.Fprintln(ready, "ok"+note)
	ready.Close()
	// Wait to be killed; as PID 1 of a new PID namespace, reap orphans.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			if pid, _ := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 {
				break
			}
		}
	}
}
