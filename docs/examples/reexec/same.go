//go:build linux

package main

import (
	"fmt"
	"os"
	"syscall"
)

// same compares the namespaces of two children with ours: one started with
// no clone flags, one with CLONE_NEWUTS.
func same() error {
	twin, err := start(nil, "wait")
	if err != nil {
		return err
	}
	solo, err := start(&syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUTS}, "wait")
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
