package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/nslab/nslab/lab"
)

// withSession runs fn with a new lab session and always closes it: when fn
// returns, fails or panics, and on SIGINT, SIGTERM or SIGHUP (which cancel
// ctx; a second signal closes the session at once and exits 130), and when
// whoever reads the output goes away (`nslab run … | head`): SIGPIPE, which
// would otherwise end the process at its next write, lab and all, cancels
// ctx too. keep leaves everything standing for exploration (`nslab
// cleanup` removes it).
func withSession(ctx context.Context, stderr io.Writer, keep bool, fn func(context.Context, *lab.Session) error) (err error) {
	warnLeftovers(stderr)
	s, err := lab.NewSession(lab.Options{})
	if err != nil {
		return err
	}
	defer registerLab()()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	defer signal.Stop(sigs)
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
			return
		}
		select {
		case <-sigs:
			fmt.Fprintln(stderr, "nslab: interrupted twice: removing the lab now")
			s.Close()
			os.Exit(130)
		case <-ctx.Done():
		}
	}()
	closeIt := func() error {
		if keep {
			if _, inside := lab.InSandbox(); inside {
				// A sandbox ends with its lab: keeping it means staying.
				fmt.Fprintf(stderr, "nslab: --keep: the lab stays up while nslab runs (%d resources): explore it with `nslab shell` in another terminal; press Enter or Ctrl-C to end it\n", len(s.Owned()))
				waitEnterOr(ctx)
				return s.Close()
			}
			fmt.Fprintf(stderr, "nslab: --keep: the lab stays up (%d resources, journal %s); remove it with `nslab cleanup`\n", len(s.Owned()), s.JournalPath())
			return nil
		}
		return s.Close()
	}
	defer func() {
		if r := recover(); r != nil {
			s.Close() // a crash never keeps the lab
			panic(r)
		}
	}()
	err = fn(ctx, s)
	if cerr := closeIt(); cerr != nil && err == nil {
		err = fmt.Errorf("cleaning up the lab: %w (run `nslab cleanup`)", cerr)
	}
	return err
}

// holdSignals keeps SIGINT, SIGTERM and SIGHUP from killing the process
// until release: whoever owns the run handles the first one (bubbletea
// quits on it, then stops listening), and a second one while the lab is
// being removed must not cut the removal short. SIGKILL still ends it;
// `nslab cleanup` is for that.
func holdSignals() (release func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	return func() { signal.Stop(ch) }
}

// warnLeftovers tells the user when a lab run of theirs that died (kill
// -9, a crash) left resources behind. A sandboxed lab has nothing to say:
// the kernel removed its sandbox, and the machine's journals are root's.
func warnLeftovers(w io.Writer) {
	if _, inside := lab.InSandbox(); inside {
		return
	}
	if n, res := lab.Leftovers(lab.RunDir(), lab.LearnerUID()); n > 0 {
		fmt.Fprintf(w, "nslab: %d earlier lab run(s) of yours left %d resource(s) behind (killed, crashed or --keep); `nslab cleanup` removes them\n", n, res)
	}
}

// offerCleanup asks, at an interactive start in host mode, whether to
// remove what this learner's dead lab runs left behind, and does it on an
// explicit yes (or Enter). End of input is no answer: it changes nothing.
// Other people's runs are not this learner's to remove (`nslab cleanup`,
// as root, removes everyone's).
func offerCleanup(in io.Reader, out io.Writer) {
	if _, inside := lab.InSandbox(); inside {
		return
	}
	uid := lab.LearnerUID()
	n, res := lab.Leftovers(lab.RunDir(), uid)
	if n == 0 {
		return
	}
	fmt.Fprintf(out, "nslab: %d earlier lab run(s) of yours left %d resource(s) behind (killed, crashed or --keep). Remove them now? [Y/n] ", n, res)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(out, "\nno answer (end of input): left in place; `nslab cleanup` removes them later")
		return
	}
	if a := strings.ToLower(strings.TrimSpace(line)); a != "" && a != "y" && a != "yes" {
		fmt.Fprintln(out, "left in place; `nslab cleanup` removes them later")
		return
	}
	rep, err := lab.CleanupFor(lab.RunDir(), uid)
	if err != nil {
		fmt.Fprintln(out, "nslab: cleanup:", err)
		return
	}
	printCleanup(out, rep)
}

// registerLab lists a host-mode lab (this process) for `nslab shell`; a
// sandboxed one was listed by the process that made its sandbox.
func registerLab() (release func()) {
	if _, inside := lab.InSandbox(); inside {
		return func() {}
	}
	release, err := lab.Register(lab.RunningLab{PID: os.Getpid(), Mode: lab.ModeHost, Command: strings.Join(append([]string{"nslab"}, os.Args[1:]...), " "), RunDir: lab.RunDir()})
	if err != nil {
		return func() {}
	}
	return release
}

// labMode is the mode this process's lab runs in, for the UI's header.
func labMode() string {
	mode, _ := lab.ChooseMode(askSandbox)
	return string(mode)
}

// waitEnterOr waits for a line (or the end) of stdin, or for ctx's end (a
// signal).
func waitEnterOr(ctx context.Context) {
	line := make(chan struct{})
	go func() {
		// One line, the end, or 4 KiB without a newline: never an
		// unbounded read of an endless input.
		bufio.NewReader(os.Stdin).ReadSlice('\n')
		close(line)
	}()
	select {
	case <-line:
	case <-ctx.Done():
	}
}
