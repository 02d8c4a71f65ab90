package probe

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// NamespaceOf names the namespace a file refers to: /run/netns/NAME,
// /proc/PID/ns/TYPE, or any other nsfs file (a container runtime's bind
// mount). It answers the type (net, mnt, user...) and the inode.
func NamespaceOf(path string) (typ string, ino uint64, err error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return "", 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	if fs.Type != unix.NSFS_MAGIC {
		return "", 0, fmt.Errorf("%s is not a namespace (not on nsfs): give /run/netns/NAME, /proc/PID/ns/TYPE or a bind mount of one", path)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", 0, fmt.Errorf("stat %s: %w", path, err)
	}
	flag, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil {
		return "", 0, fmt.Errorf("%s: NS_GET_NSTYPE: %w (Linux 4.11+ needed)", path, err)
	}
	typ = cloneTypes[flag]
	if typ == "" {
		typ = "ns" + strconv.Itoa(flag)
	}
	return typ, st.Ino, nil
}

var cloneTypes = map[int]string{
	unix.CLONE_NEWNET: "net", unix.CLONE_NEWNS: "mnt", unix.CLONE_NEWUTS: "uts", unix.CLONE_NEWIPC: "ipc",
	unix.CLONE_NEWUSER: "user", unix.CLONE_NEWPID: "pid", unix.CLONE_NEWCGROUP: "cgroup", unix.CLONE_NEWTIME: "time",
}

// FindHolders finds every holder of the namespace of type typ (a base
// type: net, mnt, pid, user...) and inode ino, by reading all of /proc once
// (see the top of holders.go). It changes nothing, and needs root to see
// the descriptors of other users' processes; what it could not read is in
// the report's Errors.
func FindHolders(typ string, ino uint64) (*HolderReport, error) {
	reps, err := FindHoldersOf(typ, []uint64{ino})
	if err != nil {
		return nil, err
	}
	return reps[ino], nil
}

// FindHoldersOf is FindHolders for many namespaces of one type at once: one
// pass over /proc serves them all (a view of a lab's hundred namespaces
// costs what one does: about 12 ms for 100 processes and 750 descriptors,
// docs/probe.md).
func FindHoldersOf(typ string, inos []uint64) (map[uint64]*HolderReport, error) {
	typ = baseType(typ)
	if !isBaseType(typ) {
		return nil, fmt.Errorf("namespace type %q: expected one of cgroup, ipc, mnt, net, pid, time, user, uts", typ)
	}
	s := holderScan{typ: typ, reps: make(map[uint64]*HolderReport, len(inos)), mnts: map[uint64]bool{}, seen: map[uint64]string{}}
	for _, ino := range inos {
		s.reps[ino] = &HolderReport{Type: typ, Inode: ino}
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &st); err != nil {
		return nil, fmt.Errorf("stat /proc/self/ns/net: %w", err)
	}
	s.nsfsDev = st.Dev
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("read /proc: %w", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		s.process(pid)
	}
	if typ == "user" {
		s.owned()
	}
	for _, r := range s.reps {
		r.Scanned = s.scanned
		r.Errors = append(r.Errors, s.errs...)
		if s.denied > 0 {
			r.Errors = append(r.Errors, fmt.Sprintf("%d process(es) could not be read (permission denied): run as root to see every holder", s.denied))
		}
		sortHolders(r.Holders)
	}
	return s.reps, nil
}

func isBaseType(t string) bool {
	for _, b := range []string{"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"} {
		if t == b {
			return true
		}
	}
	return false
}

type holderScan struct {
	typ     string
	reps    map[uint64]*HolderReport // by the inode of the namespace held
	nsfsDev uint64                   // the device of every namespace file
	mnts    map[uint64]bool          // mount namespaces whose table was read
	seen    map[uint64]string        // user: every namespace seen, and a path to it
	scanned int
	denied  int
	errs    []string
}

// target is the report of the namespace a reference ("net:[4026532301]",
// as the kernel spells it) names, if it is one of the scan's.
func (s *holderScan) target(ref string) *HolderReport {
	typ, rest, ok := strings.Cut(ref, ":[")
	if !ok || typ != s.typ || !strings.HasSuffix(rest, "]") {
		return nil
	}
	ino, err := strconv.ParseUint(rest[:len(rest)-1], 10, 64)
	if err != nil {
		return nil
	}
	return s.reps[ino]
}

// process reads one process: its threads' namespaces, its mount table (once
// per mount namespace), its descriptors. A process that exits meanwhile
// simply holds nothing any more.
func (s *holderScan) process(pid int) {
	dir := "/proc/" + strconv.Itoa(pid)
	comm, err := os.ReadFile(dir + "/comm")
	if err != nil {
		return
	}
	s.scanned++
	name := strings.TrimSpace(string(comm))
	s.threads(pid, dir, name)
	s.mounts(dir)
	s.fds(pid, dir, name)
	if s.typ == "user" {
		for _, t := range Types {
			if l, err := os.Readlink(dir + "/ns/" + t); err == nil {
				if ino, ok := parseNsLink([]byte(l)); ok {
					s.note(ino, dir+"/ns/"+t)
				}
			}
		}
	}
}

func (s *holderScan) threads(pid int, dir, comm string) {
	tasks, err := os.ReadDir(dir + "/task")
	if err != nil {
		return
	}
	in := map[*HolderReport][]int{}
	for _, t := range tasks {
		if l, err := os.Readlink(dir + "/task/" + t.Name() + "/ns/" + s.typ); err == nil {
			if r := s.target(l); r != nil {
				tid, _ := strconv.Atoi(t.Name())
				in[r] = append(in[r], tid)
			}
		}
	}
	for r, tids := range in {
		if len(tids) == len(tasks) {
			r.add(Holder{Kind: HeldByProcess, PID: pid, Comm: comm, Threads: len(tasks)})
		} else {
			r.add(Holder{Kind: HeldByThread, PID: pid, Comm: comm, Threads: len(tasks), TIDs: tids})
		}
	}
	if s.typ == "pid" || s.typ == "time" {
		// After unshare(CLONE_NEWPID), the process itself stays where it
		// was and holds the new namespace for its next children.
		if l, err := os.Readlink(dir + "/ns/" + s.typ + "_for_children"); err == nil {
			if r := s.target(l); r != nil && in[r] == nil {
				r.add(Holder{Kind: HeldByProcess, PID: pid, Comm: comm, Threads: len(tasks), Children: true})
			}
		}
	}
}

// mounts reads the mount table of a process's mount namespace, unless
// another process in the same one was read already, for nsfs mounts: field
// 4 of mountinfo is the mounted file, "net:[INODE]".
func (s *holderScan) mounts(dir string) {
	l, err := os.Readlink(dir + "/ns/mnt")
	if err != nil {
		return
	}
	mnt, ok := parseNsLink([]byte(l))
	if !ok || s.mnts[mnt] {
		return
	}
	b, err := os.ReadFile(dir + "/mountinfo")
	if err != nil {
		return
	}
	s.mnts[mnt] = true
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, " - nsfs ") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		path := UnescapeMount(f[4])
		if r := s.target(f[3]); r != nil {
			r.add(Holder{Kind: HeldByMount, Path: path, MountNS: mnt})
		}
		// Seen from any mount namespace through the process's root.
		if ino, ok := parseNsLink([]byte(f[3])); ok {
			s.note(ino, dir+"/root"+path)
		}
	}
}

// fds reads pid's descriptors: one on a namespace holds it, and for a
// network namespace so does any socket created in it, which is asked with
// SIOCGSKNS on a copy made with pidfd_getfd.
func (s *holderScan) fds(pid int, dir, comm string) {
	fdDir := dir + "/fd"
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			s.denied++
		}
		return
	}
	self := pid == os.Getpid()
	pidfd := -1
	defer func() {
		if pidfd >= 0 {
			unix.Close(pidfd)
		}
	}()
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		l, err := os.Readlink(fdDir + "/" + e.Name())
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(l, "socket:["):
			if s.typ == "net" && !s.socket(pid, fd, comm, l, self, &pidfd) {
				return
			}
		case strings.HasPrefix(l, "pipe:[") || strings.HasPrefix(l, "anon_inode:"):
		default:
			// A descriptor on a namespace reads "net:[INODE]" when it was
			// opened through /proc/PID/ns, but the mount path (or "/",
			// once unmounted) when opened through a bind mount: only
			// the file itself says what it is.
			var st unix.Stat_t
			if unix.Stat(fdDir+"/"+e.Name(), &st) != nil || st.Dev != s.nsfsDev {
				continue
			}
			if r := s.reps[st.Ino]; r != nil { // nsfs inodes are unique across types
				r.add(Holder{Kind: HeldByFD, PID: pid, Comm: comm, FD: fd})
			} else {
				s.note(st.Ino, fdDir+"/"+e.Name())
			}
		}
	}
}

// socket asks whether socket descriptor fd of pid was created in one of
// the namespaces. It reports false when pid's sockets cannot be read at all.
func (s *holderScan) socket(pid, fd int, comm, link string, self bool, pidfd *int) bool {
	k := Socket{FD: fd}
	k.Inode, _ = parseNsLink([]byte(link))
	if self {
		askSocket(fd, &k, false)
	} else {
		if *pidfd < 0 {
			p, err := unix.PidfdOpen(pid, 0)
			if err != nil {
				if err != unix.ESRCH {
					s.errs = append(s.errs, fmt.Sprintf("pid %d: pidfd_open: %v: its sockets were not read", pid, err))
				}
				return false
			}
			*pidfd = p
		}
		cp, err := pidfdGetfd(*pidfd, fd, 0)
		if err != nil {
			if err != unix.EBADF && err != unix.ESRCH { // closed, or exited, since the listing
				s.errs = append(s.errs, fmt.Sprintf("pid %d fd %d: pidfd_getfd: %v", pid, fd, err))
			}
			return true
		}
		askSocket(cp, &k, false)
		unix.Close(cp)
	}
	if r := s.reps[k.NetNS]; r != nil {
		r.add(Holder{Kind: HeldBySocket, PID: pid, Comm: comm, FD: fd, Socket: &k})
	}
	return true
}

// note remembers a namespace seen somewhere, with a path that opens it, for
// the owner check of a user namespace.
func (s *holderScan) note(ino uint64, path string) {
	if s.typ != "user" {
		return
	}
	if _, ok := s.seen[ino]; !ok {
		s.seen[ino] = path
	}
}

// owned asks every namespace seen for its owning user namespace
// (NS_GET_USERNS; for a user namespace, its parent).
func (s *holderScan) owned() {
	for ino, path := range s.seen {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue // gone meanwhile
		}
		flag, _ := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
		owner, err := unix.IoctlRetInt(fd, unix.NS_GET_USERNS)
		unix.Close(fd)
		if err != nil {
			continue // EPERM: the owner is outside our own user namespace
		}
		var st unix.Stat_t
		err = unix.Fstat(owner, &st)
		unix.Close(owner)
		if r := s.reps[st.Ino]; err == nil && r != nil && st.Ino != ino {
			typ := cloneTypes[flag]
			if typ == "" {
				typ = "ns"
			}
			r.add(Holder{Kind: HeldByOwned, OwnedNS: fmt.Sprintf("%s:[%d]", typ, ino)})
		}
	}
}

func (r *HolderReport) add(h Holder) { r.Holders = append(r.Holders, h) }
