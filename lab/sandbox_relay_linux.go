package lab

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// RunInSandbox runs nslab's command line args in a new sandbox on this
// process's stdin, stdout and stderr (a terminal stays the lab's own),
// lists it for `nslab shell` while it runs, passes on the signals that a
// terminal did not already deliver to the lab, and returns the lab's exit
// code. why says why it runs in a sandbox.
func RunInSandbox(args []string, why string) (int, error) {
	report := sandboxReporter()
	sb, err := StartSandbox(SandboxOptions{Args: args, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Why: why})
	if err != nil {
		report("error: " + err.Error())
		return 1, err
	}
	report(fmt.Sprintf("ok %d ids %s", sb.InitPID, sb.IDs))
	runDir := os.Getenv("NSLAB_RUN_DIR")
	if runDir == "" {
		runDir = "/run/nslab"
	}
	release, _ := Register(RunningLab{PID: sb.InitPID, Mode: ModeSandbox, Command: strings.TrimSpace("nslab " + strings.Join(args, " ")), RunDir: runDir})
	defer release()
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	for {
		select {
		case sig := <-sigs:
			if !terminalDelivered(sig) {
				sb.Signal(sig)
			}
		case <-sb.Done():
			return sb.Wait()
		}
	}
}

// terminalDelivered reports whether sig most likely came from this
// process's terminal, which sends it to the whole foreground process group
// (the lab in the sandbox too): Ctrl-C, Ctrl-\ and a hangup, while this
// process is in the foreground and the terminal makes signals (a TUI in
// raw mode turns that off: then the signal came from kill).
func terminalDelivered(sig os.Signal) bool {
	if sig == syscall.SIGTERM {
		return false
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return false
	}
	defer tty.Close()
	fg, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	if err != nil || fg != unix.Getpgrp() {
		return false
	}
	t, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	return err == nil && (sig == syscall.SIGHUP || t.Lflag&unix.ISIG != 0)
}

// sandboxReporter returns how nslab started as another account by
// StartSandbox (Credential) reports to it; a no-op otherwise.
func sandboxReporter() func(string) {
	fd, err := strconv.Atoi(os.Getenv(sandboxReportEnv))
	os.Unsetenv(sandboxReportEnv)
	if err != nil || fd < 3 {
		return func(string) {}
	}
	f := os.NewFile(uintptr(fd), "report")
	unix.CloseOnExec(fd)
	return func(msg string) {
		fmt.Fprintln(f, msg)
		f.Close()
	}
}

// startAs starts nslab as another account (a root server putting a
// learner in a sandbox): that process makes the sandbox, so the user
// namespace is the account's own, and reports the init's PID on a pipe.
func startAs(opt SandboxOptions) (*Sandbox, error) {
	repR, repW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer repR.Close()
	cmd := selfCommand(opt, "nslab", []string{SandboxEnv + "=1", sandboxReportEnv + "=3"}, SandboxEnv, sandboxReportEnv)
	cmd.ExtraFiles = []*os.File{repW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: opt.Credential, Setsid: opt.Setsid, Setctty: opt.Setctty, Pdeathsig: syscall.SIGKILL}
	sb := &Sandbox{cmd: cmd, done: make(chan struct{})}
	err = sb.start()
	repW.Close()
	if err != nil {
		return nil, fmt.Errorf("start nslab as uid %d: %w", opt.Credential.Uid, err)
	}
	sb.PID = cmd.Process.Pid
	line, _ := bufio.NewReader(repR).ReadString('\n')
	var ids string
	if n, _ := fmt.Sscanf(strings.TrimSpace(line), "ok %d", &sb.InitPID); n != 1 {
		code, _ := sb.Wait()
		if msg, ok := strings.CutPrefix(strings.TrimSpace(line), "error: "); ok {
			return nil, fmt.Errorf("sandbox for uid %d: %s", opt.Credential.Uid, msg)
		}
		return nil, fmt.Errorf("sandbox for uid %d: nslab exited with status %d before the sandbox was ready", opt.Credential.Uid, code)
	}
	if _, rest, ok := strings.Cut(strings.TrimSpace(line), " ids "); ok {
		ids = rest
	}
	sb.IDs = ids
	return sb, nil
}

// sandboxReportEnv names the fd on which nslab started by startAs reports
// "ok INITPID ids MAPS" (or "error: WHY") once its sandbox is ready.
const sandboxReportEnv = "NSLAB_SANDBOX_REPORT_FD"
