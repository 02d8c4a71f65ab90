package proxy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lab"
)

// child is a process-per-namespace child: a proxy process started inside
// its tenant's namespace, serving that tenant's routes.
type child struct {
	tenant string
	cmd    *exec.Cmd
	client *Client
	stdin  *os.File // the child exits when this closes
	done   chan struct{}
}

// startChild starts a child inside t's namespace, as `ip netns exec` would:
// fork and exec run on a thread switched into the namespace, and a child
// inherits the namespace of the thread that forked it. Exec starts no
// goroutine here (every stdio is an *os.File).
func (p *Proxy) startChild(t *tenant, routes []Route) (*child, error) {
	p.mu.Lock()
	if p.childDir == "" {
		// Beside the control socket where there is one: a daemon that is
		// killed leaves it where its own files are (a lesson's shell
		// export removes that whole directory), not in $TMPDIR; unless
		// that directory's name is long: a socket's name has 108 bytes,
		// and a child's is the directory's, then /TENANT.sock (bound as
		// /.nslab-control-NNNNNNNNNN/s first).
		parent, pattern := "", "nslab-proxy-"
		if ctl := p.cfg.Control; ctl != "" && len(filepath.Dir(ctl))+len("/.nslab-children-NNNNNNNNNN") <= 60 {
			parent, pattern = filepath.Dir(ctl), ".nslab-children-"
		}
		dir, err := os.MkdirTemp(parent, pattern)
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
