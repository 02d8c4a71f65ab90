//go:build linux

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// pid starts a child in a new PID namespace: inside it is PID 1, the init
// of its namespace. Without its own /proc it still reads the host's; with
// -mountproc it gets a new mount namespace too and mounts a /proc that
// shows only its namespace.
func pid() error {
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	if *mountProc {
		attr.Cloneflags |= syscall.CLONE_NEWNS
		// Go remounts / private (recursively) in the child before exec,
		// so the /proc it mounts does not propagate back to the host.
		attr.Unshareflags = syscall.CLONE_NEWNS
	}
	c, err := start(attr, "pid", strconv.FormatBool(*mountProc))
	if err != nil {
		return err
	}
	for range 2 {
		if _, err := c.next(); err != nil {
			return err
		}
	}
	levels, err := nsPID(c.pid())
	if err != nil {
		return err
	}
	fmt.Printf("from outside: the child is PID %d; NSpid %s (one PID per PID namespace, its own last)\n", c.pid(), levels)
	fmt.Printf("from the host, the processes of its PID namespace: %v\n", sharing(c.pid(), "pid"))
	holdIfAsked(c)
	return c.wait()
}

// pidChild runs as PID 1 of the new namespace.
func pidChild(args []string) error {
	fmt.Printf("my PID is %d\n", os.Getpid())
	if args[0] == "true" {
		if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("mount /proc: %w", err)
		}
	}
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, e.Name())
		}
	}
	comm, _ := os.ReadFile("/proc/1/comm")
	fmt.Printf("/proc lists %d process(es); /proc/1 is %s\n", len(pids), strings.TrimSpace(string(comm)))
	waitParent()
	return nil
}

// nsPID reads the NSpid line of /proc/PID/status.
func nsPID(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
			return strings.Join(strings.Fields(v), " "), nil
		}
	}
	return "", fmt.Errorf("no NSpid in /proc/%d/status", pid)
}

// sharing lists the host PIDs of every process in the same namespace of
// type typ as pid: from the host, a PID namespace's processes are plain
// /proc entries.
func sharing(pid int, typ string) []int {
	want := nsLink(pid, typ)
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if p, err := strconv.Atoi(e.Name()); err == nil && nsLink(p, typ) == want {
			out = append(out, p)
		}
	}
	return out
}
