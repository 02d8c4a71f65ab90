package probe

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lab"
)

// LoadNames reads what names namespaces now: PID 1's namespaces (and in a
// sandbox the machine's, which the sandbox recorded), the named
// network namespaces under /run/netns, and the live processes in the lab's
// journals (lab.RunDir). What cannot be read (PID 1 without root) is simply
// not named.
func LoadNames() *Names {
	n := &Names{labels: map[int]string{}, scan: holders}
	n.host, _ = initNamespaces()
	if info, inside := lab.InSandbox(); inside {
		// PID 1 is the sandbox's init: its namespaces are the lab's host.
		// The learner's own, recorded before the sandbox was made, are
		// the machine's.
		n.hostAs = "lab host"
		for t, ino := range info.Machine {
			n.name(t, ino, "machine")
		}
	}
	n.loadNetnsDir()
	_, _, procs := lab.OwnedNames(lab.RunDir())
	for pid, e := range procs {
		pd, err := openProcDir(pid)
		if err != nil {
			continue
		}
		if st, ok := startTime(pd); !ok || st != e.Start {
			unix.Close(pd) // exited, and the PID maybe reused: not ours
			continue
		}
		label := e.Label
		if label == "" {
			label = "pid " + strconv.Itoa(pid)
		}
		n.labels[pid] = label
		var buf [64]byte
		for i, t := range Types {
			m, err := readlinkat(pd, nsLinks[i], buf[:])
			if err != nil {
				continue
			}
			if ino, ok := parseNsLink(buf[:m]); ok && ino != n.host[t] {
				n.name(t, ino, label)
			}
		}
		unix.Close(pd)
	}
	return n
}

// loadNetnsDir names each namespace bind-mounted under /run/netns. A file
// there that is not a mounted namespace (a stale one) has an inode of the
// tmpfs, not of nsfs: the device tells them apart.
func (n *Names) loadNetnsDir() {
	var self unix.Stat_t
	if unix.Stat("/proc/self/ns/net", &self) != nil {
		return
	}
	dir, err := openat(unix.AT_FDCWD, []byte(lab.NetnsDir+"\x00"), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return
	}
	defer unix.Close(dir)
	eachEntry(dir, func(name []byte) bool {
		var st unix.Stat_t
		if fstatat(dir, name[:len(name)+1], &st) == nil && st.Dev == self.Dev {
			n.name("net", st.Ino, string(name))
		}
		return true
	})
}

// initNamespaces reads PID 1's namespaces. Where PID 1 may not be read
// (another user's process, or a sandbox that denies ptrace access to it,
// even to root) it reads kthreadd's, PID 2: kernel threads live in the
// initial namespaces, which is where PID 1 is on an ordinary host. Where
// neither may be read (any user but root) it falls back to the inodes the
// kernel reserves for the initial namespaces (see initInodes), as long as
// this process is in the initial PID namespace, where PID 1 is the
// system's init.
func initNamespaces() (map[string]uint64, error) {
	m, err := nsOf(1)
	if err == nil {
		return m, nil
	}
	if pd, perr := openProcDir(2); perr == nil {
		var comm [32]byte
		fd, cerr := openat(pd, []byte("comm\x00"), unix.O_RDONLY|unix.O_CLOEXEC)
		unix.Close(pd)
		if cerr == nil {
			n, _ := unix.Read(fd, comm[:])
			unix.Close(fd)
			if string(trimSpace(comm[:max(n, 0)])) == "kthreadd" {
				if m2, err2 := nsOf(2); err2 == nil {
					return m2, nil
				}
			}
		}
	}
	// The reserved inodes are PID 1's only if this PID namespace is the
	// initial one: in a container, PID 1 is the container's init, and its
	// namespaces are not the initial ones.
	fixed := initInodes(kernelRelease())
	if self, serr := nsOf(os.Getpid()); serr == nil && self["pid"] == fixed["pid"] {
		return fixed, nil
	}
	return nil, fmt.Errorf("read PID 1's namespaces: %w", err)
}

// initInodes returns the inodes the kernel reserves for the initial
// namespaces (enum init_ns_ino in <linux/nsfs.h>), by type: ipc, uts,
// user, pid, cgroup and time have had them since they existed; net and mnt
// since Linux 6.18 (release is uname -r), before which their initial
// namespaces were numbered like any other and are left out. Every other
// namespace is numbered from 0xF0000000 up, so a match is never a guess.
func initInodes(release string) map[string]uint64 {
	m := map[string]uint64{
		"ipc": 0xEFFFFFFF, "uts": 0xEFFFFFFE, "user": 0xEFFFFFFD,
		"pid": 0xEFFFFFFC, "pid_for_children": 0xEFFFFFFC,
		"cgroup": 0xEFFFFFFB, "time": 0xEFFFFFFA, "time_for_children": 0xEFFFFFFA,
	}
	if major, minor, ok := kernelVersion(release); ok && (major > 6 || major == 6 && minor >= 18) {
		m["net"], m["mnt"] = 0xEFFFFFF9, 0xEFFFFFF8
	}
	return m
}

func kernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// kernelVersion parses "6.18.44-fc-v595" into 6, 18.
func kernelVersion(release string) (major, minor int, ok bool) {
	b := []byte(release)
	i := 0
	for i < len(b) && b[i] != '.' {
		i++
	}
	j := i + 1
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if i >= len(b) || j == i+1 {
		return 0, 0, false
	}
	major, ok1 := atoi(b[:i])
	minor, ok2 := atoi(b[i+1 : j])
	return major, minor, ok1 && ok2
}

// nsOf reads every namespace link of pid; it fails if none can be read.
func nsOf(pid int) (map[string]uint64, error) {
	pd, err := openProcDir(pid)
	if err != nil {
		return nil, err
	}
	defer unix.Close(pd)
	out := make(map[string]uint64, len(Types))
	var buf [64]byte
	var last error
	for i, t := range Types {
		m, err := readlinkat(pd, nsLinks[i], buf[:])
		if err != nil {
			last = err
			continue
		}
		if ino, ok := parseNsLink(buf[:m]); ok {
			out[t] = ino
		}
	}
	if len(out) == 0 {
		return nil, last
	}
	return out, nil
}

// holders maps each namespace of type typ to the lowest PID in it, by
// reading /proc/*/ns/TYPE (the kernel lists PIDs in ascending order).
func holders(typ string) map[uint64]int {
	out := map[uint64]int{}
	dir, err := openat(unix.AT_FDCWD, []byte("/proc\x00"), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return out
	}
	defer unix.Close(dir)
	var path, buf [64]byte
	eachEntry(dir, func(name []byte) bool {
		pid, ok := atoi(name)
		if !ok {
			return true
		}
		p := append(append(append(path[:0], name...), "/ns/"...), typ...)
		m, err := readlinkat(dir, append(p, 0), buf[:])
		if err != nil {
			return true
		}
		if ino, ok := parseNsLink(buf[:m]); ok {
			if _, seen := out[ino]; !seen {
				out[ino] = pid
			}
		}
		return true
	})
	return out
}

// startTime is field 22 of /proc/PID/stat: with the PID, it names a
// process uniquely (as the journal records it).
func startTime(pd int) (uint64, bool) {
	fd, err := openat(pd, pathStat, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return 0, false
	}
	var b [512]byte
	n, err := unix.Read(fd, b[:])
	unix.Close(fd)
	if err != nil || n <= 0 {
		return 0, false
	}
	i := n - 1
	for i >= 0 && b[i] != ')' {
		i--
	}
	if i < 0 {
		return 0, false
	}
	field := 2
	rest := b[i+1 : n]
	for len(rest) > 0 {
		for len(rest) > 0 && rest[0] == ' ' {
			rest = rest[1:]
		}
		j := indexByte(rest, ' ')
		if j < 0 {
			j = len(rest)
		}
		field++
		if field == 22 {
			return atou(rest[:j]), true
		}
		rest = rest[j:]
	}
	return 0, false
}
