package probe

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Every /proc path is resolved relative to one open /proc/PID directory:
// if the process exits and its PID is reused while we read, the directory
// still names the dead process, so reads fail instead of describing a
// stranger. Paths are NUL-terminated byte strings passed straight to the
// *at syscalls (on this VM a syscall is cheap, a path walk and an
// allocation are not).

// nsLinks are "ns/TYPE\0" for each of Types.
var nsLinks = func() [][]byte {
	out := make([][]byte, len(Types))
	for i, t := range Types {
		out[i] = []byte("ns/" + t + "\x00")
	}
	return out
}()

var (
	pathStatus = []byte("status\x00")
	pathStat   = []byte("stat\x00")
	pathFd     = []byte("fd\x00")
	pathTask   = []byte("task\x00")
)

// afterOpen lets tests end a process between the open and the reads.
var afterOpen = func(pid int) {}

// Self is Take for the calling process. Its own sockets are asked directly,
// without pidfd_getfd.
func Self(opt Options) (*Snapshot, error) { return Take(os.Getpid(), opt) }

// Take reads a snapshot of process pid (a thread ID gives that thread's
// namespaces). It returns an error only if there is no such process; every
// other failure is recorded per field in Snapshot.Errors (or the Err of a
// thread or socket), and the field is left empty rather than guessed.
func Take(pid int, opt Options) (*Snapshot, error) {
	s := &Snapshot{PID: pid, Time: time.Now(), Namespaces: make(map[string]uint64, len(Types))}
	pd, err := openProc(pid)
	if err != nil {
		return nil, err
	}
	defer unix.Close(pd)
	afterOpen(pid)
	r := reader{s: s, pd: pd, self: pid == os.Getpid(), sockAge: opt.SocketsMaxAge, thrAge: opt.ThreadsMaxAge, serial: opt.Serial}
	if opt.Sockets {
		// Opened before anything is read: if the namespace links are
		// still readable afterwards, the process was alive when the
		// pidfd was made, so the pidfd names the same process as pd.
		r.openPidfd()
		defer r.closePidfd()
	}
	r.namespaces()
	r.status()
	if opt.Sockets {
		r.sockets()
	} else {
		r.fdCount()
	}
	if opt.Threads {
		r.threads(!opt.NoThreadNames)
	}
	if opt.Tree && !r.exited {
		r.tree(opt.Family, opt.Prune, opt.PSSMaxAge)
	}
	if !r.exited && s.FDs == 0 && s.Errors["fds"] == "" && r.gone() {
		r.exited = true // a process that died after its namespaces were read lists no fds, without failing
	}
	if r.exited {
		// What was read before the exit (or what a zombie still shows:
		// its pid and user namespaces, its status) is true; this says
		// why everything else is missing. An empty list read from a
		// process that is gone is no count at all: it is an error too.
		s.fail("process", "exited while being read")
		const why = "process exited while being read"
		if s.FDs == 0 && s.Errors["fds"] == "" {
			s.fail("fds", why)
		}
		if opt.Sockets && len(s.Sockets) == 0 && s.Errors["sockets"] == "" {
			s.fail("sockets", why)
		}
		if opt.Threads && len(s.Threads) == 0 && s.Errors["threads"] == "" {
			s.fail("threads", why)
		}
	}
	return s, nil
}

// reader holds what one Take has open.
type reader struct {
	s       *Snapshot
	pd      int           // /proc/PID
	self    bool          // the process is this one
	pidfd   int           // -1: none (see s.Errors["sockets"])
	exited  bool          // the process was found gone mid-read
	sockAge time.Duration // Options.SocketsMaxAge
	thrAge  time.Duration // Options.ThreadsMaxAge
	serial  bool          // Options.Serial
	buf     [64]byte

	// Shared by the socket workers.
	mu         sync.Mutex // guards s.Errors and exited while they run
	getfdOK    atomic.Bool
	listFailed bool // which descriptors are sockets is unknown
}

// openProc opens /proc/PID for a caller that reports on the process: an
// error wrapping ErrNoProcess if there is none.
func openProc(pid int) (int, error) {
	pd, err := openProcDir(pid)
	if err == unix.ENOENT || err == unix.ESRCH {
		return -1, fmt.Errorf("process %d: %w", pid, ErrNoProcess)
	}
	if err != nil {
		return -1, fmt.Errorf("open /proc/%d: %w", pid, err)
	}
	return pd, nil
}

func openProcDir(pid int) (int, error) {
	var b [32]byte
	p := strconv.AppendInt(append(b[:0], "/proc/"...), int64(pid), 10)
	p = append(p, 0)
	return openat(unix.AT_FDCWD, p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
}

// fieldErr records why field could not be read. ENOENT and ESRCH on a
// process that is now gone mean it exited while we read it; say so once,
// the same way, for every field it cost.
func (r *reader) fieldErr(field string, err error) {
	r.s.fail(field, r.explain(err))
}

func (r *reader) explain(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		switch errno {
		case unix.ENOENT, unix.ESRCH:
			if r.exited || r.gone() {
				r.exited = true
				return "process exited while being read"
			}
			if errno == unix.ENOENT {
				return "not supported by this kernel"
			}
		case unix.EACCES, unix.EPERM:
			return permissionDenied()
		}
	}
	return err.Error()
}

func permissionDenied() string {
	if os.Geteuid() == 0 {
		return "permission denied: the kernel refuses ptrace access to it, even to root (a sandbox or an LSM)"
	}
	return "permission denied (another user's process: run as root or with CAP_SYS_PTRACE)"
}

// gone reports whether the process behind r.pd has exited (a zombie counts:
// its namespaces and files are already released).
func (r *reader) gone() bool {
	fd, err := openat(r.pd, pathStat, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return true
	}
	defer unix.Close(fd)
	var b [512]byte
	n, err := unix.Read(fd, b[:])
	if err != nil || n <= 0 {
		return true
	}
	// "PID (comm) S ...": the comm may hold ')' and spaces; the state
	// follows the last ')'.
	for i := n - 1; i >= 0; i-- {
		if b[i] == ')' {
			return i+2 < n && (b[i+2] == 'Z' || b[i+2] == 'X')
		}
	}
	return false
}

func (r *reader) namespaces() {
	for i, t := range Types {
		n, err := readlinkat(r.pd, nsLinks[i], r.buf[:])
		if err != nil {
			r.fieldErr("ns."+t, err)
			continue
		}
		ino, ok := parseNsLink(r.buf[:n])
		if !ok {
			r.s.fail("ns."+t, fmt.Sprintf("unexpected link %q", r.buf[:n]))
			continue
		}
		r.s.Namespaces[t] = ino
	}
}

// parseNsLink parses "net:[4026531840]" (or "socket:[123]") into the inode.
func parseNsLink(b []byte) (uint64, bool) {
	i := 0
	for i < len(b) && b[i] != '[' {
		i++
	}
	if i+2 >= len(b) || b[len(b)-1] != ']' {
		return 0, false
	}
	var v uint64
	for _, c := range b[i+1 : len(b)-1] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// status reads Name, PPid, Threads, VmRSS and VmHWM (see readStatusAt).
func (r *reader) status() {
	var st Status
	if err := readStatusAt(r.pd, &st, false); err != nil {
		r.fieldErr("status", err)
		return
	}
	r.s.Comm, r.s.PPID, r.s.NumThreads, r.s.VmRSS, r.s.VmHWM = st.Name, st.PPID, st.Threads, st.VmRSS, st.VmHWM
}

// fdCount counts open descriptors (see countFDs).
func (r *reader) fdCount() {
	n, err := countFDs(r.pd, r.self)
	if err != nil {
		r.fieldErr("fds", err)
		return
	}
	r.s.FDs = n
}

// countFDs counts the open descriptors of the process behind pd: the size
// of /proc/PID/fd is the count since Linux 6.2; older kernels report 0
// there, and the directory is listed. For this process (self), the
// descriptors the count itself opens are left out.
func countFDs(pd int, self bool) (int, error) {
	var st unix.Stat_t
	if err := fstatat(pd, pathFd, &st); err != nil {
		return 0, err
	}
	if st.Size > 0 {
		if self {
			return int(st.Size) - 1, nil // pd itself
		}
		return int(st.Size), nil
	}
	dir, err := openat(pd, pathFd, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return 0, err
	}
	defer unix.Close(dir)
	n := 0
	if err := eachEntry(dir, func(name []byte) bool { n++; return true }); err != nil {
		return 0, err
	}
	if self {
		n -= 2 // pd and dir
	}
	return n, nil
}

// manyThreads is the thread count from which Options.ThreadsMaxAge applies.
const manyThreads = 64

// recentThreads is each process's threads at its last snapshot
// (Options.ThreadsMaxAge).
var recentThreads = lastRead[Thread]{m: map[int]readAt[Thread]{}}

// threads lists /proc/PID/task: each thread's network namespace and,
// with names, its name.
func (r *reader) threads(names bool) {
	keep := r.thrAge > 0 && !r.self && r.s.NumThreads >= manyThreads
	if keep {
		if ts, ok := recentThreads.get(r.s, r.s.NumThreads, r.thrAge); ok {
			r.s.Threads = ts
			return
		}
		defer func() {
			if r.s.Errors["threads"] == "" && !r.exited {
				recentThreads.put(r.s, r.s.NumThreads, r.s.Threads)
			}
		}()
	}
	dir, err := openat(r.pd, pathTask, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		r.fieldErr("threads", err)
		return
	}
	defer unix.Close(dir)
	var path [48]byte
	err = eachEntry(dir, func(name []byte) bool {
		tid, ok := atoi(name)
		if !ok {
			return true
		}
		t := Thread{TID: tid}
		p := append(append(path[:0], name...), "/ns/net\x00"...)
		if n, err := readlinkat(dir, p, r.buf[:]); err != nil {
			t.Err = r.threadErr(dir, name, err)
		} else if ino, ok := parseNsLink(r.buf[:n]); ok {
			t.NetNS = ino
		}
		p = append(append(path[:0], name...), "/comm\x00"...)
		if !names {
			r.s.Threads = append(r.s.Threads, t)
			return true
		}
		if fd, err := openat(dir, p, unix.O_RDONLY|unix.O_CLOEXEC); err == nil {
			if n, err := unix.Read(fd, r.buf[:]); err == nil && n > 0 {
				t.Comm = string(trimSpace(r.buf[:n]))
			}
			unix.Close(fd)
		}
		r.s.Threads = append(r.s.Threads, t)
		return true
	})
	if err != nil {
		r.fieldErr("threads", err)
	}
}

// threadErr explains a failed read of one thread: the thread (not
// necessarily the process) may have exited.
func (r *reader) threadErr(dir int, name []byte, err error) string {
	if err == unix.ENOENT || err == unix.ESRCH {
		var st unix.Stat_t
		p := append(append([]byte(nil), name...), 0)
		if fstatat(dir, p, &st) != nil {
			return "thread exited while being read"
		}
	}
	return r.explain(err)
}

// eachEntry calls fn with the name of each entry of the open directory
// (not . or ..), in the kernel's order, until fn returns false.
func eachEntry(dir int, fn func(name []byte) bool) error {
	return eachDirent(dir, func(name []byte, _ uint64) bool { return fn(name) })
}

// eachDirent is eachEntry with each entry's inode number.
func eachDirent(dir int, fn func(name []byte, ino uint64) bool) error {
	bp := dentBufs.Get().(*[]byte)
	defer dentBufs.Put(bp)
	buf := *bp
	for {
		n, err := unix.Getdents(dir, buf)
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		for off := 0; off < n; {
			// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name.
			reclen := int(*(*uint16)(unsafe.Pointer(&buf[off+16])))
			ino := *(*uint64)(unsafe.Pointer(&buf[off]))
			name := buf[off+19 : off+reclen]
			off += reclen
			if i := indexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if len(name) == 0 || name[0] == '.' {
				continue
			}
			if !fn(name, ino) {
				return nil
			}
		}
	}
}

var dentBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func openat(dir int, path []byte, flags int) (int, error) {
	fd, _, e := unix.Syscall6(unix.SYS_OPENAT, uintptr(dir), uintptr(unsafe.Pointer(&path[0])), uintptr(flags), 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

func readlinkat(dir int, path, buf []byte) (int, error) {
	n, _, e := unix.Syscall6(unix.SYS_READLINKAT, uintptr(dir), uintptr(unsafe.Pointer(&path[0])), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func fstatat(dir int, path []byte, st *unix.Stat_t) error {
	_, _, e := unix.Syscall6(unix.SYS_NEWFSTATAT, uintptr(dir), uintptr(unsafe.Pointer(&path[0])), uintptr(unsafe.Pointer(st)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}

// atou parses the leading decimal digits of b ("1234 kB" → 1234).
func atou(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		v = v*10 + uint64(c-'0')
	}
	return v
}

// atoi parses b, all digits, as a non-negative int.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}
