package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lab"
)

// StartWorker runs a proxy daemon as a child process of this binary under
// session s (which journals it, and kills it and removes its control socket
// when the session closes). It waits until the worker is serving and
// returns a client for its control socket. name is the process's name in
// the session; cfg.Control defaults to a socket in the lab's run directory.
func StartWorker(s *lab.Session, name string, cfg Config) (*Client, *lab.Proc, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if cfg.Name == "" {
		cfg.Name = name
	}
	if cfg.Control == "" {
		cfg.Control = filepath.Join(lab.RunDir(), fmt.Sprintf("proxy-%s-%d.sock", name, os.Getpid()))
	}
	if err := s.TrackFile(cfg.Control); err != nil {
		return nil, nil, err
	}
	// A lab's workers give back the threads a bind storm left (the
	// thread counts the lessons show are what the strategy needs).
	cfg.TrimThreads = true
	spec, err := json.Marshal(workerSpec{Config: cfg, Log: "text", Level: "warn"})
	if err != nil {
		return nil, nil, err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	defer readyR.Close()
	// The worker logs to a file beside its control socket, not to our
	// stderr: it may outlive us (nslab run --keep), and holding our pipe it
	// kept `nslab run ... | tee` waiting until cleanup; under the TUI its
	// lines would land in the middle of the screen.
	logPath := strings.TrimSuffix(cfg.Control, ".sock") + ".log"
	if err := s.TrackFile(logPath); err != nil {
		readyW.Close()
		return nil, nil, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		readyW.Close()
		return nil, nil, fmt.Errorf("proxy worker %s log: %w", name, err)
	}
	defer logf.Close()
	specR, specW, err := os.Pipe()
	if err != nil {
		readyW.Close()
		return nil, nil, err
	}
	cmd := lab.Reexec("proxy-worker", name)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{readyW, specR}
	proc, err := s.StartProcess(name, cmd)
	readyW.Close()
	specR.Close()
	if err != nil {
		specW.Close()
		return nil, nil, err
	}
	go sendSpec(specW, spec)
	if err := waitReady(readyR, readyWithin(cfg), proc.Done()); err != nil {
		s.Kill(name)
		return nil, nil, fmt.Errorf("proxy worker %s: %w%s", name, err, logTail(logPath))
	}
	c, err := Dial(cfg.Control)
	if err != nil {
		s.Kill(name)
		return nil, nil, err
	}
	return c, proc, nil
}

// logTail is the end of a worker's log, to show with a failed start (a
// panic, say), or "" if it is empty.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	if len(b) > 2048 {
		b = b[len(b)-2048:]
	}
	return fmt.Sprintf("; its log (%s) ends:\n%s", path, bytes.TrimSpace(b))
}

// sendSpec writes a worker's spec to the pipe it reads it from (fd 4),
// then closes it: the config reaches the worker neither through its
// environment (which /proc/PID/environ shows, and which every process it
// starts inherits) nor through a file.
func sendSpec(w *os.File, spec []byte) {
	w.Write(spec)
	w.Close()
}

// child is a process-per-namespace child: a proxy process started inside
// its tenant's namespace, serving that tenant's routes.
type child struct {
	tenant string
	cmd    *exec.Cmd
	client *Client
	stdin  *os.File // the child exits when this closes
	done   chan struct{}
}

// readyWithin is how long a worker may take to say it is ready: 30 s, and
// with process-per-namespace a second more for each tenant, since it
// starts a process in each before it is ready (one a second, or slower,
// where the binary has the race detector and the machine is busy).
func readyWithin(cfg Config) time.Duration {
	d := 30 * time.Second
	if cfg.Strategy == ProcessPerNamespace {
		d += time.Duration(len(cfg.Tenants)) * time.Second
	}
	return d
}

// startChild starts a child inside t's namespace, as `ip netns exec` would:
// fork and exec run on a thread switched into the namespace, and a child
// inherits the namespace of the thread that forked it. Exec starts no
// goroutine here (every stdio is an *os.File).
func (p *Proxy) startChild(t *tenant, routes []Route) (*child, error) {
	p.mu.Lock()
	if p.childDir == "" {
		dir, err := os.MkdirTemp("", "nslab-proxy-")
		if err != nil {
			p.mu.Unlock()
			return nil, err
		}
		p.childDir = dir
	}
	dir := p.childDir
	p.mu.Unlock()
	live := p.conf()
	cfg := Config{
		Name: p.cfg.Name + "/" + t.name, Strategy: Shared, Tenants: []string{t.name},
		Control: filepath.Join(dir, t.name+".sock"), UDPIdle: live.UDPIdle,
		DialTimeout: live.DialTimeout, FinTimeout: live.FinTimeout, Limits: live.Limits,
		Rescan: -1, Routes: routes, TrimThreads: true,
	}
	spec, err := json.Marshal(workerSpec{
		Config: cfg, Here: t.name, HostPath: "/proc/" + strconv.Itoa(os.Getpid()) + "/ns/net",
		Log: "text", Level: "warn",
	})
	if err != nil {
		return nil, err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer readyR.Close()
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		readyW.Close()
		return nil, err
	}
	specR, specW, err := os.Pipe()
	if err != nil {
		readyW.Close()
		stdinR.Close()
		stdinW.Close()
		return nil, err
	}
	cmd := lab.Reexec("proxy-worker", "ns-"+t.name)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdinR, os.Stderr, os.Stderr
	cmd.ExtraFiles = []*os.File{readyW, specR}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = t.ent.with(func(ns *lab.Netns) error { return lab.Do(ns, cmd.Start) })
	readyW.Close()
	stdinR.Close()
	specR.Close()
	if err == nil {
		go sendSpec(specW, spec)
	} else {
		specW.Close()
	}
	if err != nil {
		stdinW.Close()
		if cmd.Process != nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		return nil, fmt.Errorf("start the namespace's proxy process: %w", err)
	}
	c := &child{tenant: t.name, cmd: cmd, stdin: stdinW, done: make(chan struct{})}
	go func() { waitExited(cmd.Process.Pid); cmd.Wait(); close(c.done) }()
	if err := waitReady(readyR, 30*time.Second, c.done); err != nil {
		c.kill()
		return nil, err
	}
	if c.client, err = Dial(cfg.Control); err != nil {
		c.kill()
		return nil, err
	}
	return c, nil
}

func (c *child) kill() {
	c.stdin.Close()
	c.cmd.Process.Kill()
	<-c.done
}

// stop asks the child to close its sockets and exit, then makes sure.
func (c *child) stop() {
	if c.client != nil {
		c.client.Stop()
		c.client.Close()
	}
	c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
}

// waitExited waits on the netpoller until process pid has exited, so that
// the Wait that follows returns at once. A goroutine in a plain Wait sits
// in wait4(2) and holds an OS thread: with one per child, the parent of N
// children would grow N threads just waiting.
func waitExited(pid int) {
	pidfd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return // old kernel: fall back to the blocking Wait
	}
	f := os.NewFile(uintptr(pidfd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Read(func(fd uintptr) bool {
		// A pidfd turns readable when the process exits.
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, _ := unix.Poll(pfd, 0)
		return n > 0
	})
}
