//go:build linux

// Command proctree adds up what a process and every process it started
// cost: processes, threads, PSS and open descriptors, as the kernel counts
// them in /proc. A proxy that runs a process per namespace looks small in
// `ps` one line at a time; summed over its tree, it is not.
//
// PSS (proportional set size, from /proc/PID/smaps_rollup) charges a page
// that several processes map to each of them in part, so fifty children
// running one binary pay for its code once between them, not fifty times.
//
//	sudo go run ./docs/examples/proctree PID...
package main

import (
	"bufio"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Cost is what one process tree holds.
type Cost struct {
	Processes, Threads, FDs int
	PSS                     uint64 // bytes
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: proctree PID...")
		os.Exit(2)
	}
	fmt.Printf("%-8s %9s %7s %11s %5s\n", "pid", "processes", "threads", "PSS", "fds")
	for _, a := range os.Args[1:] {
		pid, err := strconv.Atoi(a)
		if err != nil || pid <= 0 {
			log.Fatalf("%q is not a PID", a)
		}
		c, err := tree(pid)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-8d %9d %7d %8.1f MB %5d\n", pid, c.Processes, c.Threads, float64(c.PSS)/1e6, c.FDs)
	}
}

// tree sums a process and its descendants, found through each thread's
// children file (every thread can be a parent).
func tree(root int) (Cost, error) {
	var c Cost
	level := []int{root}
	for len(level) > 0 {
		var next []int
		for _, pid := range level {
			if err := add(&c, pid); err != nil {
				if pid == root {
					return c, err
				}
				continue // it ended meanwhile
			}
			next = append(next, children(pid)...)
		}
		level = next
	}
	return c, nil
}

func add(c *Cost, pid int) error {
	threads, err := field(fmt.Sprintf("/proc/%d/status", pid), "Threads:")
	if err != nil {
		return err
	}
	pss, _ := field(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:") // kB
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	c.Processes++
	c.Threads += int(threads)
	c.PSS += pss * 1024
	c.FDs += len(fds)
	return nil
}

func children(pid int) []int {
	var out []int
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(s); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// field reads the number after name in a /proc file of "Name: value" lines.
func field(path, name string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), name); ok {
			n, _ := strconv.ParseUint(strings.Fields(v)[0], 10, 64)
			return n, nil
		}
	}
	return 0, fmt.Errorf("%s: no %s line", path, name)
}
