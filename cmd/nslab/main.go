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

// version is set by the Makefile (-ldflags -X main.version=...).
var version = "dev"

// exitError carries a specific exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

var root = &cobra.Command{
	Use:   "nslab",
	Short: "An interactive lab for Linux namespaces",
	Long: `nslab walks you through Linux namespaces with real ones: it creates network
namespaces, veth pairs and bridges, binds sockets inside other namespaces from
one process, and shows what the kernel sees while it happens.

Run it as root (it creates namespaces and links). Everything it makes is named
nslab-* and removed when it exits; 'nslab cleanup' removes what a killed run left.`,
	SilenceUsage:  true,
	SilenceErrors: true,
	Version:       version,
}

func main() {
	lab.Init() // a spawned child runs its setup here and never returns
	// The main thread never enters another namespace: the runtime could
	// wedge it but never end it, so every namespace switch keeps off it
	// (lab.GoLocked). The main goroutine is not locked to it either: that
	// parked a thread for nothing, and made every wait in it a
	// locked-thread handoff (~80 µs instead of ~17 µs per switch).
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "nslab:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}
