// Command nslab is an interactive lab for Linux namespaces.
//
// With no arguments it opens the terminal UI; subcommands run scenarios,
// inspect processes, run the proxy daemon, and clean up after crashed runs.
package main

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lab"
)

// Exit codes, the same in every command (README, `nslab man`).
const (
	exitFailure     = 1   // the command ran and something failed: a check, a removal, the machine
	exitUsage       = 2   // the command line is wrong: unknown command or flag, bad value, missing or extra argument, a name that names nothing
	exitInterrupted = 130 // Ctrl-C (SIGINT), SIGTERM or SIGHUP, as a shell reports it
)

// exitError carries a specific exit code out of a command; with no err it
// says nothing (a sandboxed lab's own exit code, its messages printed).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is a command line that cannot run as given: exit 2, with a
// pointer to the command's help.
func usageErrorf(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// asUsage marks err as a usage error unless it already has an exit code.
func asUsage(err error) error {
	var ee *exitError
	if err == nil || errors.As(err, &ee) {
		return err
	}
	return &exitError{code: exitUsage, err: err}
}

var root = &cobra.Command{
	Use:   "nslab",
	Short: "An interactive lab for Linux namespaces",
	Long: `nslab walks you through Linux namespaces with real ones: it creates network
namespaces, veth pairs and bridges, binds sockets inside other namespaces from
one process, and shows what the kernel sees while it happens.

No root needed: as any other user, each lab runs in a sandbox of its own (new
user, mount, network and PID namespaces) that the kernel removes when the lab
ends. As root it works on the machine itself (host mode), unless --sandbox;
everything it makes there is named nslab-* and removed when it exits, and
'nslab cleanup' removes what a killed run left. 'nslab shell' enters a
running lab from a second terminal.

Exit status: 0 success, 1 failure (a check failed, the machine cannot run the
lab...), 2 usage error (unknown command or flag, bad value, missing argument),
130 interrupted.`,
	SilenceUsage:  true,
	SilenceErrors: true,
}

// askSandbox is --sandbox: root gets a sandbox too.
var askSandbox bool

func setupMain() {
	root.PersistentPreRunE = enterSandbox
	root.PersistentFlags().BoolVar(&askSandbox, "sandbox", false, "run the lab in a sandbox of its own even as root (it always is for other users)")
}

// sandboxed are the commands that run a lab: in sandbox mode they run in a
// sandbox, re-executed there with the same arguments.
var sandboxed = map[string]bool{
	"nslab": true, "nslab run": true, "nslab list": true, "nslab doctor": true,
	"nslab bench": true, "nslab bench netns": true, "nslab bench proxy": true, "nslab proxy": true,
}

// runsLabs are the commands that make labs of their own, with lesson (or
// benchmark) names: in host mode they take a prefix of their own for them.
// nslab proxy serves the namespaces it is given, by the names it is given.
var runsLabs = map[string]bool{"nslab": true, "nslab run": true, "nslab bench": true, "nslab bench netns": true, "nslab bench proxy": true}

// enterSandbox runs a lab command in a new sandbox when this user's mode
// is the sandbox's and this process is not in one yet: the command runs
// again inside, and its exit code becomes this process's.
func enterSandbox(cmd *cobra.Command, _ []string) error {
	if !sandboxed[cmd.CommandPath()] {
		return nil
	}
	if _, inside := lab.InSandbox(); inside {
		return nil
	}
	mode, why := lab.ChooseMode(askSandbox)
	if mode != lab.ModeSandbox {
		if !runsLabs[cmd.CommandPath()] {
			return nil
		}
		// Host mode: take a name prefix no other lab on the machine uses,
		// before lessons are parsed with their system names; the kernel
		// gives it back when the process ends.
		_, err := lab.ClaimNames()
		return err
	}
	if cmd == root {
		if err := needTerminal(); err != nil {
			return err
		}
	}
	code, err := lab.RunInSandbox(os.Args[1:], why)
	if err != nil {
		if cmd.CommandPath() == "nslab doctor" {
			return doctorOutside(cmd, err)
		}
		return err
	}
	return &exitError{code: code}
}

// buildCommands builds the command tree, once: main after lab.Init, and a
// test that reads the tree in-process before it does. A re-executed child
// (a spawned lesson process, a proxy worker) never builds it: its flags,
// help and completions were a millisecond of every child's start when each
// command's file added itself at init.
var buildCommands = sync.OnceFunc(func() {
	for _, add := range append([]func(){
		setupMain, setupTui, setupRun, setupList, setupLint, setupInspect,
		setupDoctor, setupCleanup, setupShell, setupBench, setupMan,
	}, platformCommands...) {
		add()
	}
})

func main() {
	lab.Init() // a spawned child runs its setup here and never returns
	buildCommands()
	// The main thread never enters another namespace: the runtime could
	// wedge it but never end it, so every namespace switch keeps off it
	// (lab.GoLocked). The main goroutine is not locked to it either: that
	// parked a thread for nothing, and made every wait in it a
	// locked-thread handoff (~80 µs instead of ~17 µs per switch).
	root.Version = versionString() // here, not at init: children never print it
	os.Exit(execute(os.Args[1:]))
}

// execute runs the command line and returns the exit code, having printed
// any error (and, for a usage error, where the help is). A sandboxed lab's
// own exit code comes back as an exitError with no error: the lab inside
// has said what there was to say.
func execute(args []string) int {
	markUsageErrors()
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	code := exitFailure
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			return code
		}
	}
	fmt.Fprintln(os.Stderr, "nslab:", err)
	if code == exitUsage && cmd != nil {
		fmt.Fprintf(os.Stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}
