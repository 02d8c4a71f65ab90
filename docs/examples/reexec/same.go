//go:build linux

package main

import (
	"fmt"
	"os"
	"syscall"
)

// cloneFlags are the clone(2) flags of the namespace types, by the names
// /proc/PID/ns gives them.
var cloneFlags = map[string]uintptr{"uts": syscall.CLONE_NEWUTS, "ipc": syscall.CLONE_NEWIPC, "net": syscall.CLONE_NEWNET,
	"mnt": syscall.CLONE_NEWNS, "pid": syscall.CLONE_NEWPID, "user": syscall.CLONE_NEWUSER, "cgroup": syscall.CLONE_NEWCGROUP}

// same compares the namespaces of two children with ours: one started with
// no clone flags, one with the flag of one type (-only, CLONE_NEWUTS by
// default): one flag, one new namespace, every other one shared.
func same() error {
	cf, ok := cloneFlags[*only]
	if !ok {
		return fmt.Errorf("-only %q: give uts, ipc, net, mnt, pid, user or cgroup", *only)
	}
	twin, err := start(nil, "wait")
	if err != nil {
		return err
	}
	solo, err := start(&syscall.SysProcAttr{Cloneflags: cf}, "wait")
	if err != nil {
		return err
	}
	me := os.Getpid()
	for _, typ := range []string{"net", "uts", "mnt", "pid", "ipc", "user"} {
		fmt.Printf("%-4s me %-20s twin %-20s solo %s\n", typ, nsLink(me, typ), mark(nsLink(twin.pid(), typ), nsLink(me, typ)), mark(nsLink(solo.pid(), typ), nsLink(me, typ)))
	}
	holdIfAsked(twin, solo)
	twin.wait()
	return solo.wait()
}

// mark flags a namespace that differs from ours.
func mark(ns, mine string) string {
	if ns != mine {
		return ns + " (new)"
	}
	return ns
}
