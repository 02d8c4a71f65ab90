package probe

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lab"
)

// LoadNames reads what names namespaces now: PID 1's namespaces, the named
// network namespaces under /run/netns, and the live processes in the lab's
// journals (lab.RunDir). What cannot be read (PID 1 without root) is simply
// not named.
func LoadNames() *Names {
	n := &Names{labels: map[int]string{}, scan: holders}
	n.host, _ = initNamespaces()
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
// (a sandbox that denies ptrace access to it, even to root) it reads
// kthreadd's, PID 2: kernel threads live in the initial namespaces, which
// is where PID 1 is on an ordinary host.
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
	return nil, fmt.Errorf("read PID 1's namespaces: %w", err)
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
