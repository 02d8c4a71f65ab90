//go:build linux

// Command holders names everything that keeps a namespace alive. The
// kernel frees a namespace when its last reference goes, and keeps no list
// of them; every reference user space can see is somewhere in /proc:
//
//   - a process, or some of its threads, in it: /proc/PID/task/TID/ns/TYPE
//   - a bind mount of it (what `ip netns add` makes at /run/netns/NAME): an
//     nsfs line in some process's /proc/PID/mountinfo
//   - an open descriptor on it: /proc/PID/fd/N reads "net:[INODE]"
//   - for a network namespace, a socket created in it, whichever process
//     holds it: a copy of the socket (pidfd_getfd) answers SIOCGSKNS with
//     its namespace
//
// lsns(8) lists the namespaces of processes only: a namespace held by a
// socket alone (a proxy's listener after `ip netns del`) is invisible to
// it, and to `ip netns list`, yet alive.
//
//	sudo go run ./docs/examples/holders /run/netns/NAME
//	sudo go run ./docs/examples/holders 'net:[4026532301]'    # nameless
//	sudo go run ./docs/examples/holders -wait-free 30s 'net:[4026532301]'
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

var waitFree = flag.Duration("wait-free", 0, "wait this long for nothing to hold the namespace (exit 1 if something still does)")

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: holders [-wait-free DURATION] PATH|TYPE:[INODE]   (PATH: /run/netns/NAME, /proc/PID/ns/TYPE)")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	id, err := namespaceOf(flag.Arg(0))
	if err != nil {
		log.Fatal(err)
	}
	if *waitFree > 0 {
		if err := waitUntilFree(id, *waitFree); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: no holders: the kernel has freed it\n", id)
		return
	}
	hs := findHolders(id)
	fmt.Printf("%s: %d holder(s)\n", id, len(hs))
	for _, h := range hs {
		fmt.Println("  " + h)
	}
}

// namespaceOf names the namespace a path is a file of, as /proc names it
// ("net:[4026532301]"): the type from NS_GET_NSTYPE, the inode from fstat.
// "TYPE:[INODE]" is taken as it is: a namespace that has lost its name
// has no path left.
func namespaceOf(arg string) (string, error) {
	if strings.HasSuffix(arg, "]") && strings.Contains(arg, ":[") {
		return arg, nil
	}
	fd, err := unix.Open(arg, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	typ, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil {
		return "", fmt.Errorf("%s is not a namespace file: %w", arg, err)
	}
	names := map[int]string{unix.CLONE_NEWNET: "net", unix.CLONE_NEWNS: "mnt", unix.CLONE_NEWPID: "pid", unix.CLONE_NEWUSER: "user",
		unix.CLONE_NEWUTS: "uts", unix.CLONE_NEWIPC: "ipc", unix.CLONE_NEWCGROUP: "cgroup", unix.CLONE_NEWTIME: "time"}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s:[%d]", names[typ], st.Ino), nil
}

// findHolders looks at every process: its threads, its mount table, its
// descriptors and, for a network namespace, its sockets.
func findHolders(id string) []string {
	typ, _, _ := strings.Cut(id, ":")
	var out []string
	mounts := map[string]bool{} // a mount namespace's table is read once
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range procs {
		pid, _ := strconv.Atoi(filepath.Base(dir))
		comm, _ := os.ReadFile(dir + "/comm")
		who := fmt.Sprintf("pid %d (%s)", pid, strings.TrimSpace(string(comm)))
		if in, all := threadsIn(pid, typ, id); in > 0 {
			if in == all {
				out = append(out, "process  "+who)
			} else {
				out = append(out, fmt.Sprintf("thread   %s: %d of its %d threads", who, in, all))
			}
		}
		if mnt, err := os.Readlink(dir + "/ns/mnt"); err == nil && !mounts[mnt] {
			mounts[mnt] = true
			for _, at := range bindMounts(pid, id) {
				out = append(out, fmt.Sprintf("mount    %s (in %s)", at, mnt))
			}
		}
		out = append(out, descriptors(pid, who, typ, id)...)
	}
	return out
}

// threadsIn counts pid's threads in the namespace, and all its threads.
func threadsIn(pid int, typ, id string) (in, all int) {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/ns/%s", pid, typ))
	for _, t := range tasks {
		if ns, err := os.Readlink(t); err == nil {
			all++
			if ns == id {
				in++
			}
		}
	}
	return in, all
}

// bindMounts lists where the namespace is bind-mounted in pid's mount
// table: an nsfs mount whose root (field 4) names it.
func bindMounts(pid int, id string) []string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 8 && f[3] == id && strings.Contains(line, " - nsfs ") {
			out = append(out, f[4])
		}
	}
	return out
}

// descriptors lists pid's open descriptors on the namespace and, for a
// network namespace, its sockets born there. A descriptor is matched by
// stat, not by its link: opened through /proc/PID/ns it reads
// "net:[INODE]", but opened through a bind mount it reads the mount's path
// (or "/" once that is unmounted).
func descriptors(pid int, who, typ, id string) []string {
	var nsfs unix.Stat_t
	unix.Stat("/proc/self/ns/"+typ, &nsfs) // every namespace file is on nsfs
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	var out []string
	for _, e := range fds {
		path := fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name())
		target, _ := os.Readlink(path)
		var st unix.Stat_t
		switch {
		case unix.Stat(path, &st) == nil && st.Dev == nsfs.Dev && fmt.Sprintf("%s:[%d]", typ, st.Ino) == id:
			out = append(out, fmt.Sprintf("fd       %s fd %s", who, e.Name()))
		case typ == "net" && strings.HasPrefix(target, "socket:"):
			n, _ := strconv.Atoi(e.Name())
			if ns, err := socketNetns(pid, n); err == nil && ns == id {
				out = append(out, fmt.Sprintf("socket   %s fd %d", who, n))
			}
		}
	}
	return out
}

// socketNetns asks a socket of another process which network namespace it
// was created in: a copy of it (pidfd_getfd, which needs ptrace rights over
// pid) answers SIOCGSKNS with a descriptor of that namespace.
func socketNetns(pid, fd int) (string, error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(pidfd)
	sock, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(sock)
	nsfd, err := unix.IoctlRetInt(sock, unix.SIOCGSKNS)
	if err != nil {
		return "", err
	}
	defer unix.Close(nsfd)
	return os.Readlink(fmt.Sprintf("/proc/self/fd/%d", nsfd))
}

// waitUntilFree polls until nothing holds the namespace: then the kernel
// has freed it (or is about to).
func waitUntilFree(id string, limit time.Duration) error {
	for end := time.Now().Add(limit); ; time.Sleep(100 * time.Millisecond) {
		hs := findHolders(id)
		if len(hs) == 0 {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("%s is still held after %s: %s", id, limit, strings.Join(hs, "; "))
		}
	}
}
