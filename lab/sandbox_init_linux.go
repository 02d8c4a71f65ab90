package lab

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func init() { RegisterInit("sandbox", sandboxInit) }

// sandboxInit is PID 1 of a sandbox. It holds no lab state and needs no
// capability: it waits until the caller has written the id maps (fd 3),
// starts the lab (this binary again, with the caller's arguments), reaps
// every process that ends in the sandbox, and exits with the lab's status.
// Its exit ends the sandbox: the kernel kills what is left inside. It also
// exits when the caller dies: fd 4 is a pipe whose other end only the
// caller holds, and the parent-death signal is set too.
//
// Signals other than SIGKILL reach the init only if it handles them. It
// drops INT, HUP and QUIT, which a terminal sends to its whole foreground
// process group, the lab included: passing them on would double them. A
// SIGTERM, which no terminal sends, it passes on to the lab, so that
// `kill INITPID` ends the lab as `kill LABPID` does.
func sandboxInit() {
	fail := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "nslab: sandbox: "+format+"\n", a...)
		os.Exit(1)
	}
	// Go's own Pdeathsig check would kill a child in a new PID namespace
	// at once (its parent is outside, so getppid is 0): set it here. If
	// the caller died before this line, the life pipe says so below.
	unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0)
	// What ps and /proc/1/comm show inside: not "exe", which is what every
	// re-executed child of the lab is called (the pid lesson tells them
	// apart).
	os.WriteFile("/proc/self/comm", []byte("nslab-sandbox"), 0)
	goPipe, life, ready := os.NewFile(3, "go"), os.NewFile(4, "life"), os.NewFile(5, "ready")
	var b [1]byte
	if n, _ := goPipe.Read(b[:]); n != 1 {
		os.Exit(1) // the caller gave up (it could not write the id maps)
	}
	goPipe.Close()
	go func() {
		io.Copy(io.Discard, life) // returns when the caller is gone
		os.Exit(137)
	}()

	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGCHLD, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)

	info := sandboxInfo()
	if info == nil {
		fail("no sandbox description in the environment")
	}
	info.Setup = true
	state, _ := json.Marshal(info)
	env := append(withoutEnv(os.Environ(), sandboxStateEnv, sandboxReadyEnv), sandboxStateEnv+"="+string(state), sandboxReadyEnv+"=3")
	argv := append([]string{"nslab"}, os.Args[1:]...)
	pid, err := syscall.ForkExec("/proc/self/exe", argv, &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2, ready.Fd()},
		Sys:   &syscall.SysProcAttr{},
	})
	if err != nil {
		fmt.Fprintf(ready, "error: start the lab: %v\n", err)
		os.Exit(1)
	}
	ready.Close()
	for sig := range sigs {
		if sig == syscall.SIGTERM {
			syscall.Kill(pid, syscall.SIGTERM)
		}
		if sig != syscall.SIGCHLD {
			continue
		}
		for {
			var ws syscall.WaitStatus
			got, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if got <= 0 || err != nil {
				break
			}
			if got != pid {
				continue
			}
			if ws.Signaled() {
				os.Exit(128 + int(ws.Signal()))
			}
			os.Exit(ws.ExitStatus())
		}
	}
}

// sandboxSetup runs first in the lab process a sandbox's init starts, in
// the sandbox's namespaces and as root there: it makes every mount private
// (nothing propagates to the machine), gives the sandbox a /run of its own
// (empty /run/netns and /run/nslab; the rest of the machine's /run bound
// back in), mounts a /proc for the new PID namespace, brings lo up, and
// reports "ok" (or what failed) to the caller.
func sandboxSetup(info *SandboxInfo) {
	fd, _ := strconv.Atoi(os.Getenv(sandboxReadyEnv))
	os.Unsetenv(sandboxReadyEnv)
	info.Setup = false
	state, _ := json.Marshal(info)
	os.Setenv(sandboxStateEnv, string(state)) // children do not set up again
	var ready *os.File
	if fd > 2 {
		ready = os.NewFile(uintptr(fd), "ready")
		unix.CloseOnExec(fd)
	}
	report := func(msg string) {
		if ready != nil {
			fmt.Fprintln(ready, msg)
			ready.Close()
		}
	}
	if err := setupSandbox(); err != nil {
		report("error: " + err.Error())
		fmt.Fprintln(os.Stderr, "nslab: sandbox:", err)
		os.Exit(1)
	}
	report("ok")
}

func setupSandbox() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if err := privateRun(); err != nil {
		return err
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc for the sandbox's PID namespace: %w", err)
	}
	lo, err := netlink.LinkByName("lo")
	if err == nil {
		err = netlink.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("bring lo up in the sandbox: %w", err)
	}
	return nil
}

// privateRun mounts a tmpfs on /run and binds the machine's entries of
// /run back into it, all but netns and nslab: those start empty, so the
// lab's namespaces and journals are the sandbox's alone, and `ip netns`
// inside lists exactly the lab's. A machine without /run/netns needs no
// write access to /run for this.
func privateRun() error {
	old, err := os.Open("/run")
	if err != nil {
		return fmt.Errorf("open /run: %w", err)
	}
	defer old.Close()
	ents, err := old.ReadDir(-1)
	if err != nil {
		return fmt.Errorf("read /run: %w", err)
	}
	if err := unix.Mount("tmpfs", "/run", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return fmt.Errorf("mount a tmpfs on /run: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if name == "netns" || name == "nslab" {
			continue
		}
		// The machine's /run is still reachable through the open fd.
		src := fmt.Sprintf("/proc/self/fd/%d/%s", old.Fd(), name)
		dst := "/run/" + name
		switch {
		case e.Type()&os.ModeSymlink != 0:
			if target, err := os.Readlink(src); err == nil {
				os.Symlink(target, dst)
			}
			continue
		case e.IsDir():
			if os.Mkdir(dst, 0o755) != nil {
				continue
			}
		default:
			f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				continue
			}
			f.Close()
		}
		// Best effort: an entry that cannot be bound (a mount the kernel
		// keeps locked, say) is simply absent inside; the lab needs none.
		unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, "")
	}
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{NetnsDir, 0o755}, {"/run/nslab", 0o700}} {
		if err := os.Mkdir(d.path, d.mode); err != nil {
			return fmt.Errorf("create %s in the sandbox: %w", d.path, err)
		}
	}
	return nil
}
