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
running lab from a second terminal.`,
	SilenceUsage:  true,
	SilenceErrors: true,
	Version:       version,
}

// askSandbox is --sandbox: root gets a sandbox too.
var askSandbox bool

func init() {
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

func main() {
	lab.Init() // a spawned child runs its setup here and never returns
	// The main thread never enters another namespace: the runtime could
	// wedge it but never end it, so every namespace switch keeps off it
	// (lab.GoLocked). The main goroutine is not locked to it either: that
	// parked a thread for nothing, and made every wait in it a
	// locked-thread handoff (~80 µs instead of ~17 µs per switch).
	if err := root.Execute(); err != nil {
		var ee *exitError
		if !errors.As(err, &ee) || ee.err != nil {
			fmt.Fprintln(os.Stderr, "nslab:", err)
		}
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}
