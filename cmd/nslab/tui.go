package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/ui"
	"github.com/nslab/nslab/ui/backend"
)

// nslab with no arguments opens the terminal UI.
func setupTui() {
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
	if err := needTerminal(); err != nil {
		return err
	}
	offerCleanup(cmd.InOrStdin(), cmd.ErrOrStderr())
	sess, err := lab.NewSession(lab.Options{})
	if err != nil {
		return err
	}
	defer registerLab()()
	progress := learnerProgressPath()
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
		ProgressPath: progress,
		Presenter:    presenter,
		Open:         open,
		Mode:         labMode(),
		Shell:        shellCommand(),
	})
	defer giveToLearner(progress)               // under sudo: the learner's file, not root's
	defer app.Wait(2 * time.Second)             // the last progress save
	model, attach, leave := inRoom(app, runner) // nslab serve's learner: reports to the room, no shell
	defer leave()
	fps := 30 // typing stays smooth; half the idle wakeups of the default 60
	if model != tea.Model(app) {
		fps = roomFPS
	}
	p := tea.NewProgram(model, tea.WithFPS(fps))
	attach(p)
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

// needTerminal refuses to start the terminal UI without a terminal, before
// anything is asked or changed: `nslab </dev/null` must not read the end of
// its input as an answer.
func needTerminal() error {
	for _, f := range []struct {
		name string
		fd   int
	}{{"stdin", 0}, {"stdout", 1}} {
		if !term.IsTerminal(uintptr(f.fd)) {
			return &exitError{code: exitFailure, err: fmt.Errorf("the terminal UI needs a terminal, and %s is not one; nothing was changed. To run a lesson without one: nslab run ID --yes (nslab list shows the ids)", f.name)}
		}
	}
	return nil
}

// learnerProgressPath is where the learner's progress is kept: under sudo
// in the invoking user's state directory ($XDG_STATE_HOME is root's there
// only if sudo kept it, so their home decides), not root's.
func learnerProgressPath() string {
	uid := lab.LearnerUID()
	if os.Geteuid() != 0 || uid == os.Getuid() {
		return ui.DefaultProgressPath()
	}
	if _, inside := lab.InSandbox(); inside {
		return ui.DefaultProgressPath()
	}
	if dir := os.Getenv("XDG_STATE_HOME"); dir != "" && ownedBy(dir, uid) { // sudo kept it
		path := filepath.Join(dir, "nslab", "progress.json")
		giveToLearner(path)
		return path
	}
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil || u.HomeDir == "" {
		return ui.DefaultProgressPath()
	}
	dir := filepath.Join(u.HomeDir, ".local", "state", "nslab")
	giveToLearner(filepath.Join(dir, "progress.json"))
	return filepath.Join(dir, "progress.json")
}

// giveToLearner makes the progress file, and the directories of its path
// under the learner's home that root made, the learner's under sudo (root
// writes them during the run).
func giveToLearner(path string) {
	uid := lab.LearnerUID()
	if os.Geteuid() != 0 || uid == os.Getuid() || path == "" {
		return
	}
	if _, inside := lab.InSandbox(); inside {
		return
	}
	gid, err := strconv.Atoi(os.Getenv("SUDO_GID"))
	if err != nil {
		gid = uid
	}
	os.MkdirAll(filepath.Dir(path), 0o755)
	// path is HOME/.local/state/nslab/progress.json: four levels below
	// home (two below $XDG_STATE_HOME, which is the learner's already).
	for p, i := path, 0; i < 4; p, i = filepath.Dir(p), i+1 {
		if ownedByRoot(p) {
			os.Lchown(p, uid, gid)
		}
	}
}
