package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/ui"
	"github.com/nslab/nslab/ui/backend"
)

// nslab with no arguments opens the terminal UI.
func init() {
	root.RunE = runTUI
	root.Args = cobra.NoArgs
	f := root.Flags()
	f.Bool("presenter", false, "start in presenter mode (large, high contrast, for a projector)")
	f.String("open", "", "open this scenario at start (e.g. veth)")
}

// runTUI owns the lab session for the whole run: whatever way the UI ends
// — q, Ctrl-C, SIGTERM, SIGHUP when the terminal goes away, or a panic the
// program recovered from — the session is closed and everything the lab
// made is removed before nslab exits.
func runTUI(cmd *cobra.Command, _ []string) (err error) {
	presenter, _ := cmd.Flags().GetBool("presenter")
	open, _ := cmd.Flags().GetString("open")
	offerCleanup(cmd.InOrStdin(), cmd.ErrOrStderr())
	sess, err := lab.NewSession(lab.Options{})
	if err != nil {
		return err
	}
	defer holdSignals()() // released after the session is closed (defers run last-first)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("nslab crashed (%v); the lab was cleaned up", r)
		}
		if cerr := sess.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("clean up: %w (run `nslab cleanup`)", cerr))
		}
	}()
	runner := backend.NewLab(sess, scenarioDirs...)
	defer runner.Close()
	app := ui.New(ui.Options{
		Lab:          runner,
		Source:       &backend.Source{Session: sess, Watch: runner.Watched, Results: runner.Results},
		ProgressPath: ui.DefaultProgressPath(),
		Presenter:    presenter,
		Open:         open,
	})
	defer app.Wait(2 * time.Second)           // the last progress save
	p := tea.NewProgram(app, tea.WithFPS(30)) // typing stays smooth; half the idle wakeups of the default 60
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		if _, ok := <-hup; ok {
			p.Kill()
		}
	}()
	_, err = p.Run()
	switch {
	case errors.Is(err, tea.ErrProgramPanic):
		return fmt.Errorf("the UI crashed; the lab was cleaned up: %w", err)
	case errors.Is(err, tea.ErrInterrupted), errors.Is(err, tea.ErrProgramKilled):
		return nil
	}
	return err
}
