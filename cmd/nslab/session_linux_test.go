package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

// withSession closes the lab however fn ends: an error, a panic, or a
// signal (which cancels fn's context).
func TestWithSessionClosesTheLabHoweverItEnds(t *testing.T) {
	labtest.RequireRoot(t)
	t.Setenv("NSLAB_RUN_DIR", t.TempDir())
	failed := errors.New("a step failed")
	for _, tt := range []struct {
		name string
		end  func(ctx context.Context) error
	}{
		{"an error", func(context.Context) error { return failed }},
		{"a panic", func(context.Context) error { panic("boom") }},
		{"SIGINT", signalled(syscall.SIGINT)},
		{"SIGTERM", signalled(syscall.SIGTERM)},
		{"SIGHUP", signalled(syscall.SIGHUP)},
	} {
		t.Run("on "+tt.name, func(t *testing.T) {
			var made []lab.Entry
			var journal string
			func() {
				defer func() { recover() }()
				withSession(context.Background(), io.Discard, false, func(ctx context.Context, s *lab.Session) error {
					journal = s.JournalPath()
					if _, err := s.AddNetns(labtest.Name("ws")); err != nil {
						return err
					}
					if err := s.AddBridge(labtest.Name("wb"), "host"); err != nil {
						return err
					}
					made = s.Owned()
					return tt.end(ctx)
				})
			}()
			if len(made) != 2 {
				t.Fatalf("the session made %v", made)
			}
			if left := lab.StillThere(made); len(left) > 0 {
				t.Errorf("left after %s: %v", tt.name, left)
			}
			if _, err := os.Stat(journal); !os.IsNotExist(err) {
				t.Errorf("journal still there after %s: %v", tt.name, err)
			}
		})
	}
}

// signalled sends sig to this process and waits for withSession to cancel
// the context, as a run waiting between steps does.
func signalled(sig syscall.Signal) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		syscall.Kill(os.Getpid(), sig)
		select {
		case <-ctx.Done():
			return errors.New("interrupted")
		case <-time.After(5 * time.Second):
			return fmt.Errorf("%v did not cancel the run", sig)
		}
	}
}

// The real binary, paused between steps, is stopped by a signal (once, or
// twice in a row): nothing it made is left, nor its journal.
func TestARunStoppedByASignalLeavesNothing(t *testing.T) {
	labtest.RequireRoot(t)
	bin := nslabBin(t)
	for _, tt := range []struct {
		name string
		sigs []syscall.Signal
	}{
		{"Ctrl-C", []syscall.Signal{syscall.SIGINT}},
		{"SIGTERM", []syscall.Signal{syscall.SIGTERM}},
		{"SIGHUP (the terminal went away)", []syscall.Signal{syscall.SIGHUP}},
		{"Ctrl-C twice", []syscall.Signal{syscall.SIGINT, syscall.SIGINT}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tag := labtest.Name("s")[1:]
			file := filepath.Join(dir, "sig.md")
			os.WriteFile(file, []byte(fmt.Sprintf(`---
id: sig-%[1]s
title: Stopped by a signal
summary: a lab to interrupt between steps
level: beginner
minutes: 1
---
## Build
`+"```lab"+`
netns add %[1]sa
link add %[1]s type bridge
link add h%[1]s type veth peer eth0 netns %[1]sa
`+"```"+`
`+"```check"+`
expect netns %[1]sa exists
`+"```"+`
## Later
`+"```lab"+`
netns add %[1]sb
`+"```"+`
`+"```check"+`
expect netns %[1]sb exists
`+"```"+`
`, tag)), 0o644)
			runDir := filepath.Join(dir, "run")
			cmd := exec.Command(bin, "run", file)
			cmd.Env = append(os.Environ(), "NSLAB_RUN_DIR="+runDir)
			stdin, _ := cmd.StdinPipe() // held open: the run waits for enter
			defer stdin.Close()
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			if err := waitForText(bufio.NewReader(out), "[enter] next step", 30*time.Second); err != nil {
				t.Fatal(err)
			}
			jfs, err := lab.ReadJournals(runDir)
			if err != nil || len(jfs) != 1 || len(jfs[0].Live) != 4 {
				t.Fatalf("the paused run's journal: %+v %v", jfs, err)
			}
			made := jfs[0].Live
			for _, sig := range tt.sigs {
				cmd.Process.Signal(sig)
			}
			go io.Copy(io.Discard, out)
			cmd.Wait()
			if left := lab.StillThere(made); len(left) > 0 {
				t.Errorf("left after %s: %v", tt.name, left)
			}
			if jfs, _ := lab.ReadJournals(runDir); len(jfs) != 0 {
				t.Errorf("journal left after %s: %+v", tt.name, jfs)
			}
		})
	}
}

// waitForText reads r until it has seen text (which need not end a line).
func waitForText(r *bufio.Reader, text string, wait time.Duration) error {
	found := make(chan error, 1)
	go func() {
		var seen strings.Builder
		for {
			b, err := r.ReadByte()
			if err != nil {
				found <- fmt.Errorf("output ended before %q:\n%s", text, seen.String())
				return
			}
			seen.WriteByte(b)
			if strings.HasSuffix(seen.String(), text) {
				found <- nil
				return
			}
		}
	}()
	select {
	case err := <-found:
		return err
	case <-time.After(wait):
		return fmt.Errorf("no %q within %s", text, wait)
	}
}
