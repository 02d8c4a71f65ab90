package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lab"
)

func setupShell() {
	cmd := &cobra.Command{
		Use:   "shell [LAB] [-- COMMAND...]",
		Short: "Open a shell inside a running lab, from a second terminal",
		Long: `shell enters a lab that is running (the terminal UI, or nslab run), so that
what a lesson asks you to do in a second terminal (ip netns exec, ss, ping)
acts on that lab.

A lab in a sandbox: the shell joins its user, mount, network and PID
namespaces (and the rest), as root there: 'ip netns list' lists the lab's
namespaces, 'ip netns exec nslab-demo ...' runs inside one.
A lab in host mode (root): the shell stays on the machine, where the lab's
namespaces are.

Either way $NS_demo holds the system name of the lab's namespace demo
(nslab-demo, or nslab2-demo for a second host-mode lab), $PID_web the PID
of a process the lab started. With no LAB, the only lab of yours that is
running; with several, say which (its PID, or a word of its command line).
With -- COMMAND, run that instead of $SHELL.`,
		Example: "  nslab shell\n  nslab shell 4242\n  nslab shell -- ip netns list",
		RunE:    runShell,
	}
	root.AddCommand(cmd)
}

func runShell(cmd *cobra.Command, args []string) error {
	which, command := args, []string(nil)
	if dash := cmd.ArgsLenAtDash(); dash >= 0 {
		which, command = args[:dash], args[dash:]
	}
	if len(which) > 1 {
		return &exitError{code: 2, err: fmt.Errorf("give at most one lab (its PID, or a word of its command line), then -- COMMAND if you want one")}
	}
	if _, inside := lab.InSandbox(); inside {
		return &exitError{code: 2, err: errors.New("this shell is inside a lab already (its sandbox); `exit` leaves it")}
	}
	labs, err := lab.RunningLabs()
	if err != nil {
		return err
	}
	l, err := pickLab(labs, which)
	if err != nil {
		return err
	}
	if len(command) == 0 {
		sh := os.Getenv("SHELL")
		if sh == "" {
			sh = "/bin/sh"
		}
		command = []string{sh}
	}
	env := append(os.Environ(), "NSLAB_SHELL="+strconv.Itoa(l.PID))
	env = append(env, labVars(l)...)
	var c *exec.Cmd
	if l.Mode == lab.ModeSandbox {
		nsenter, err := exec.LookPath("nsenter")
		if err != nil {
			return errors.New("entering a sandboxed lab needs nsenter (util-linux): apt install util-linux")
		}
		if st := sandboxState(l.PID); st != "" {
			env = append(env, "NSLAB_IN_SANDBOX="+st)
		}
		// --preserve-credentials: the user is mapped to 0 inside, so
		// keeping the uid is being root there; nsenter's own switch to 0
		// would call setgroups, which a one-id sandbox denies.
		argv := []string{"nsenter", "-t", strconv.Itoa(l.PID), "-a", "--preserve-credentials", "--wd=" + shellDir()}
		c = exec.Command(nsenter, append(append(argv[1:], "--"), command...)...)
	} else {
		path, err := exec.LookPath(command[0])
		if err != nil {
			return &exitError{code: 2, err: fmt.Errorf("%s: not found", command[0])}
		}
		c = exec.Command(path, command[1:]...)
	}
	c.Env = env
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	interactive := len(args) == len(which)
	if interactive {
		fmt.Fprintf(cmd.ErrOrStderr(), "nslab shell: %s; `exit` leaves it\n", enteredWhat(l))
	}
	// Ctrl-C and Ctrl-\ are the shell's: this process waits them out
	// (caught, not ignored, so the shell does not inherit them ignored).
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	go func() {
		for range sigs {
		}
	}()
	err = c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if l.Mode == lab.ModeSandbox && !labRunning(l) {
			fmt.Fprintf(cmd.ErrOrStderr(), "nslab shell: the lab ended (pid %d), and its sandbox with it\n", l.PID)
		}
		return &exitError{code: exitCode(ee)}
	}
	return err
}

// shellCommand is what a second terminal runs to enter this process's lab,
// for the UI's second terminal: nslab shell, naming the lab by its PID in
// host mode (a sandbox's init has a PID outside that the lab inside cannot
// see; there, the only lab running is the one).
func shellCommand() string {
	exe, err := os.Executable()
	if p, perr := exec.LookPath("nslab"); err != nil || perr == nil && sameFile(p, exe) {
		exe = "nslab"
	}
	if labMode() == string(lab.ModeHost) {
		return fmt.Sprintf("%s shell %d", exe, os.Getpid())
	}
	return exe + " shell"
}

func sameFile(a, b string) bool {
	x, err1 := os.Stat(a)
	y, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(x, y)
}

// pickLab chooses the lab to enter: the only one, or the one the argument
// names (a PID, or a word of the command line).
func pickLab(labs []lab.RunningLab, which []string) (lab.RunningLab, error) {
	if len(labs) == 0 {
		msg := "no lab of yours is running: start one (nslab, or nslab run ID) in another terminal first"
		if os.Geteuid() != 0 {
			msg += "; a lab started with sudo is root's: sudo nslab shell"
		}
		return lab.RunningLab{}, &exitError{code: 1, err: errors.New(msg)}
	}
	match := labs
	if len(which) == 1 {
		match = nil
		for _, l := range labs {
			if strconv.Itoa(l.PID) == which[0] || strings.Contains(l.Command, which[0]) {
				match = append(match, l)
			}
		}
	}
	if len(match) == 1 {
		return match[0], nil
	}
	var b strings.Builder
	if len(match) == 0 {
		fmt.Fprintf(&b, "no running lab of yours matches %q; they are:", which[0])
	} else {
		fmt.Fprintf(&b, "%d labs of yours are running: say which (nslab shell PID):", len(match))
		labs = match
	}
	for _, l := range labs {
		fmt.Fprintf(&b, "\n  %-8d %-8s since %s  %s", l.PID, l.Mode, l.Since.Local().Format("15:04:05"), l.Command)
	}
	return lab.RunningLab{}, &exitError{code: 2, err: errors.New(b.String())}
}

// labVars names what the lab holds now: NS_demo=nslab-demo for each of its
// namespaces, PID_web=4242 for each process it started (as the shell
// numbers them).
func labVars(l lab.RunningLab) []string {
	dir := l.RunDir
	if l.Mode == lab.ModeSandbox {
		dir = filepath.Join(fmt.Sprintf("/proc/%d/root", l.PID), l.RunDir)
	}
	jfs, _ := lab.ReadJournals(dir)
	seen := map[string]bool{}
	var out []string
	for _, jf := range jfs {
		if !jf.Alive || l.Mode == lab.ModeHost && jf.Session.PID != l.PID {
			continue
		}
		for _, e := range jf.Live {
			var kv string
			switch e.Kind {
			case lab.KindNetns:
				kv = "NS_" + lab.VarName(lab.ShortNameOf(e.Name)) + "=" + e.Name
			case lab.KindProc:
				if e.Label != "" {
					kv = "PID_" + lab.VarName(e.Label) + "=" + strconv.Itoa(e.PID)
				}
			}
			if kv != "" && !seen[kv] {
				seen[kv] = true
				out = append(out, kv)
			}
		}
	}
	sort.Strings(out)
	return out
}

// sandboxState is the lab's description of its sandbox (its environment),
// so that nslab inside the shell knows where it is.
func sandboxState(pid int) string {
	labPID, ok := lab.SandboxLab(pid)
	if !ok {
		return ""
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", labPID))
	if err != nil {
		return ""
	}
	for _, kv := range strings.Split(string(b), "\x00") {
		if v, ok := strings.CutPrefix(kv, "NSLAB_IN_SANDBOX="); ok {
			return v
		}
	}
	return ""
}

// shellDir is where the shell starts inside a sandbox: here, unless here
// is in /run or /proc, which the sandbox has of its own.
func shellDir() string {
	wd, err := os.Getwd()
	if err != nil || wd == "/proc" || wd == "/run" || strings.HasPrefix(wd, "/proc/") || strings.HasPrefix(wd, "/run/") {
		if home, err := os.UserHomeDir(); err == nil {
			return home
		}
		return "/"
	}
	return wd
}

func enteredWhat(l lab.RunningLab) string {
	if l.Mode == lab.ModeSandbox {
		return fmt.Sprintf("inside the lab of pid %d (%s), in its sandbox, as root there: `ip netns list` shows its namespaces", l.PID, l.Command)
	}
	return fmt.Sprintf("beside the lab of pid %d (%s), on the machine (host mode): `ip netns list` shows its namespaces, $NS_NAME their system names", l.PID, l.Command)
}

// labRunning reports whether the lab is still there, allowing its init a
// moment to finish dying (it outlives the processes the kernel kills for
// it, this shell among them, by a little).
func labRunning(l lab.RunningLab) bool {
	for range 20 {
		if !lab.ProcAlive(l.PID, l.Start) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

func exitCode(ee *exec.ExitError) int {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}
