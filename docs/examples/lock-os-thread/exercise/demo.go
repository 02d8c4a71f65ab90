//go:build linux

package main

// This file is not part of the exercise: it lets the lock-os-thread
// lesson show the race on demand. The race is real but random, so with
// -until-wrong the program repeats its rounds (at most 200) until both
// symptoms show at once: a listener made outside the namespace, and a
// thread left in it.

import (
	"flag"
	"fmt"
	"net"
	"path/filepath"

	"golang.org/x/sys/unix"
)

var untilWrong = flag.Bool("until-wrong", false, "repeat the rounds (at most 200) until a listener is outside the namespace and a thread is left in it")

// more reports whether to open another round of listeners.
func more(round int, nsPath string, ls []net.Listener) bool {
	if !*untilWrong {
		return round <= *rounds
	}
	if round == 1 {
		return true
	}
	var st unix.Stat_t
	if unix.Stat(nsPath, &st) != nil || round > 200 {
		return false
	}
	out, left := outside(ls, st.Ino), threadsIn(st.Ino)
	if out > 0 && left > 0 {
		fmt.Printf("round %d: %d of %d listeners outside the namespace, %d thread(s) left in it\n", round-1, out, len(ls), left)
		return false
	}
	return true
}

// outside counts the listeners whose socket is not in namespace ino
// (SIOCGSKNS: the socket's own namespace).
func outside(ls []net.Listener, ino uint64) int {
	n := 0
	for _, l := range ls {
		rc, err := l.(*net.TCPListener).SyscallConn()
		if err != nil {
			continue
		}
		rc.Control(func(fd uintptr) {
			nsfd, err := unix.IoctlRetInt(int(fd), unix.SIOCGSKNS)
			if err != nil {
				return
			}
			var st unix.Stat_t
			unix.Fstat(nsfd, &st)
			unix.Close(nsfd)
			if st.Ino != ino {
				n++
			}
		})
	}
	return n
}

// threadsIn counts this process's threads in namespace ino.
func threadsIn(ino uint64) int {
	tasks, _ := filepath.Glob("/proc/self/task/*/ns/net")
	n := 0
	for _, t := range tasks {
		var st unix.Stat_t
		if unix.Stat(t, &st) == nil && st.Ino == ino {
			n++
		}
	}
	return n
}
