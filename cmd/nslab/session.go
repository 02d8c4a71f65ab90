package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/nslab/nslab/lab"
)

// withSession runs fn with a new lab session and always closes it: when fn
// returns, fails or panics, and on SIGINT, SIGTERM or SIGHUP (which cancel
// ctx; a second signal closes the session at once and exits 130). keep
// leaves everything standing for exploration (`nslab cleanup` removes it).
func withSession(ctx context.Context, stderr io.Writer, keep bool, fn func(context.Context, *lab.Session) error) (err error) {
	warnLeftovers(stderr)
	s, err := lab.NewSession(lab.Options{})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
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

// warnLeftovers tells the user when a lab run that died (kill -9, a crash)
// left resources behind.
func warnLeftovers(w io.Writer) {
	if n, res := lab.Leftovers(lab.RunDir()); n > 0 {
		fmt.Fprintf(w, "nslab: %d earlier lab run(s) left %d resource(s) behind (killed, crashed or --keep); `nslab cleanup` removes them\n", n, res)
	}
}
