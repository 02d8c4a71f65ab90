package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Re-exec entry points: a child that must start as this same binary (a
// spawned init, a proxy worker) is started as /proc/self/exe with
// argv[0] = "nslab-NAME:LABEL". Init, called first in main and TestMain,
// runs the registered function for NAME and exits; test binaries get the
// same children as the real binary.
var (
	initsMu sync.Mutex
	inits   = map[string]func(){}
)

// RegisterInit registers fn as the entry point for children started with
// Reexec(name, ...). Call it from a package init function. fn must not
// return (it should os.Exit).
func RegisterInit(name string, fn func()) {
	initsMu.Lock()
	defer initsMu.Unlock()
	inits[name] = fn
}

// Reexec returns a command that starts this binary as entry point name.
// label shows in ps (nslab-NAME:LABEL); args follow as os.Args[1:].
func Reexec(name, label string, args ...string) *exec.Cmd {
	cmd := exec.Command("/proc/self/exe", args...)
	cmd.Args = append([]string{"nslab-" + name + ":" + label}, args...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("NSLAB_PARENT=%d", os.Getpid()))
	return cmd
}

// Init runs this process's re-exec entry point if it is such a child, and
// never returns in that case. Call it first thing in main and TestMain.
//
// In the lab process a sandbox starts, Init first makes the sandbox's
// mounts (see sandboxSetup).
func Init() {
	if info := sandboxInfo(); info != nil && info.Setup {
		sandboxSetup(info)
	}
	arg0 := os.Args[0]
	if !strings.HasPrefix(arg0, "nslab-") {
		return
	}
	name, _, ok := strings.Cut(strings.TrimPrefix(arg0, "nslab-"), ":")
	if !ok {
		return
	}
	initsMu.Lock()
	fn := inits[name]
	initsMu.Unlock()
	if fn != nil {
		// ps, top and /proc/PID/comm name the child for what it is, not
		// "exe" (the file it was started from: /proc/self/exe). The kernel
		// keeps 15 bytes: nslab-proxy-wor, nslab-init.
		os.WriteFile("/proc/self/comm", []byte("nslab-"+name), 0)
		dropStartupPages()
		fn()
		os.Exit(0)
	}
}

// StartProcess starts cmd, records it in the journal, and kills it when the
// session closes (or through Cleanup after a crash). name is how the
// learner and the panels refer to it; it must be unique in the session.
func (s *Session) StartProcess(name string, cmd *exec.Cmd) (*Proc, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	_, dup := s.procs[name]
	s.mu.Unlock()
	if dup {
		return nil, fmt.Errorf("process %s is already running: %w", name, ErrExists)
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	start, _ := procStartTime(cmd.Process.Pid)
	e := Entry{Kind: KindProc, Label: name, PID: cmd.Process.Pid, Start: start}
	if err := s.journal.Add(e); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, err
	}
	p := &Proc{Name: name, PID: cmd.Process.Pid, Start: start, cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	s.mu.Lock()
	s.procs[name] = p
	s.mu.Unlock()
	return p, nil
}

// Stop asks a process to exit with SIGTERM, waits up to grace, then kills
// it. The session forgets it either way.
func (s *Session) Stop(name string, grace time.Duration) error {
	s.mu.Lock()
	p, ok := s.procs[name]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("process %s: %w", name, ErrNotFound)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		s.mu.Lock()
		delete(s.procs, name)
		s.mu.Unlock()
		s.dropNs("proc:" + name)
		return s.journal.Done(Entry{Kind: KindProc, PID: p.PID, Start: p.Start})
	case <-time.After(grace):
		return s.Kill(name)
	}
}

// Done returns a channel closed when the process exits.
func (p *Proc) Done() <-chan struct{} { return p.done }

// TrackFile records a file (a control socket, say) the session made, so
// Close and Cleanup remove it.
func (s *Session) TrackFile(path string) error {
	return s.journal.Add(Entry{Kind: KindFile, Path: path})
}

// TempDir makes a directory under the session's run directory and records
// it, so that Close (or Cleanup, after a crash) removes it with everything
// in it: a benchmark's configs, sockets, logs and copy of the binary.
func (s *Session) TempDir(pattern string) (string, error) {
	dir, err := os.MkdirTemp(s.dir, pattern)
	if err != nil {
		return "", err
	}
	if err := s.journal.Add(Entry{Kind: KindDir, Path: dir}); err != nil {
		os.Remove(dir)
		return "", err
	}
	return dir, nil
}

// removeRunDir removes a directory a session made under its run directory
// (runDir), with what it holds; gone already is not an error. It reports
// whether it removed it. A journal naming a directory anywhere else is
// refused: nslab removes whole trees only where it keeps its own.
func removeRunDir(runDir, path string) (bool, error) {
	rel, err := filepath.Rel(runDir, filepath.Clean(path))
	if err != nil || rel == "." || !filepath.IsLocal(rel) {
		return false, fmt.Errorf("%s is not under %s: not removing it", path, runDir)
	}
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return true, os.RemoveAll(path)
}
