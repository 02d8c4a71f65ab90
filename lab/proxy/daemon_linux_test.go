package proxy

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The control socket adds and removes tenants: only its owner may connect.
// It is 0600 whatever the umask, and it never exists under its name with a
// wider mode (it is renamed into place), nor leaves its temporary
// directory behind.
func TestTheControlSocketIsMode0600WhateverTheUmask(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "edge.sock")
	old := syscall.Umask(0)
	l, err := listenControl(path)
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("control socket is %v, want a socket with mode 0600", fi.Mode())
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != os.Geteuid() {
		t.Errorf("control socket owned by uid %d, want the caller, %d", st.Uid, os.Geteuid())
	}
	if c, err := net.Dial("unix", path); err != nil {
		t.Errorf("the socket does not answer under its name: %v", err)
	} else {
		c.Close()
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("the socket's directory holds %d entries, want just the socket: %v", len(ents), ents)
	}

	// A second daemon on the same path is refused, the first keeps it.
	if l2, err := listenControl(path); err == nil {
		l2.Close()
		t.Error("a second daemon took a live control socket")
	}
	// A stale socket (nobody answers) is replaced; a regular file is not.
	l.Close()
	if l3, err := listenControl(path); err != nil {
		t.Errorf("a stale socket was not replaced: %v", err)
	} else {
		l3.Close()
	}
	file := filepath.Join(dir, "notes.txt")
	os.WriteFile(file, []byte("mine"), 0o644)
	if l4, err := listenControl(file); err == nil {
		l4.Close()
		t.Error("listenControl replaced a regular file")
	}
	if b, _ := os.ReadFile(file); string(b) != "mine" {
		t.Errorf("the regular file was changed: %q", b)
	}
}

// A worker that dies at start-up has its last log lines shown with the
// error (the log is a file now, not the caller's terminal).
func TestLogTailShowsTheEndOfTheLog(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.log")
	os.WriteFile(empty, []byte("\n"), 0o600)
	if got := logTail(empty); got != "" {
		t.Errorf("empty log gave %q", got)
	}
	if got := logTail(filepath.Join(dir, "missing.log")); got != "" {
		t.Errorf("missing log gave %q", got)
	}
	long := filepath.Join(dir, "w.log")
	os.WriteFile(long, []byte(strings.Repeat("x", 5000)+"\npanic: boom\n"), 0o600)
	got := logTail(long)
	if !strings.HasSuffix(got, "panic: boom") || !strings.Contains(got, long) || len(got) > 2048+len(long)+40 {
		t.Errorf("tail = %d bytes, ends %q", len(got), got[max(0, len(got)-40):])
	}
}
