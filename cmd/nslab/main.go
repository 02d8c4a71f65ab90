// Command nslab is an interactive lab for Linux namespaces.
//
// With no arguments it opens the terminal UI; subcommands run scenarios,
// inspect processes, run the proxy daemon, and clean up after crashed runs.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lab"
)

// Exit codes, the same in every command (README, `nslab man`).
const (
	exitFailure     = 1   // the command ran and something failed: a check, a removal, the machine
	exitUsage       = 2   // the command line is wrong: unknown command or flag, bad value, missing or extra argument, a name that names nothing
	exitInterrupted = 130 // Ctrl-C (SIGINT), SIGTERM or SIGHUP, as a shell reports it
)

// exitError carries a specific exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
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

Run it as root (it creates namespaces and links). Everything it makes is named
nslab-* and removed when it exits; 'nslab cleanup' removes what a killed run left.

Exit status: 0 success, 1 failure (a check failed, the machine cannot run the
lab...), 2 usage error (unknown command or flag, bad value, missing argument),
130 interrupted.`,
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	lab.Init() // a spawned child runs its setup here and never returns
	// The main thread never enters another namespace: the runtime could
	// wedge it but never end it, so every namespace switch keeps off it
	// (lab.GoLocked). The main goroutine is not locked to it either: that
	// parked a thread for nothing, and made every wait in it a
	// locked-thread handoff (~80 µs instead of ~17 µs per switch).
	root.Version = versionString() // here, not at init: children never print it
	os.Exit(execute(os.Args[1:]))
}

// execute runs the command line and returns the exit code, having printed
// any error (and, for a usage error, where the help is).
func execute(args []string) int {
	markUsageErrors()
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "nslab:", err)
	code := exitFailure
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if code == exitUsage && cmd != nil {
		fmt.Fprintf(os.Stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}
