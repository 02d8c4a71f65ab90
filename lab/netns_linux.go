package lab

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// NetnsDir is where named network namespaces are bind-mounted, as iproute2
// does, so `ip netns exec nslab-alpha ...` works from a second terminal.
const NetnsDir = "/run/netns"

// Netns is an open handle on a network namespace. It stays valid (and keeps
// the namespace alive) until Close, even if the name is deleted.
//
// The descriptor is held by an *os.File and used only through its RawConn:
// while a switch reads it, Close cannot release the number (the kernel
// would give it to the next open, perhaps another tenant's namespace), and
// after Close every use fails instead of entering whatever the number has
// become. A Netns is safe for concurrent use; Close may race with Enter.
type Netns struct {
	name string // learner's name, "host", "pid:N", a /run/netns name or a path
	path string
	f    *os.File
	rc   syscall.RawConn
	ino  uint64
	dev  uint64
	// closed is set before the file is closed, so a Control that fails
	// for it says net.ErrClosed (the poller's own error is unexported).
	closed atomic.Bool
}

// OpenNetnsPath opens the network namespace at path (/run/netns/NAME,
// /proc/PID/ns/net, /proc/PID/task/TID/ns/net, any bind mount of one).
func OpenNetnsPath(name, path string) (*Netns, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %s (%s): %w", name, path, errnoKind(err))
	}
	return newNetns(name, path, fd)
}

// NetnsOfSocket opens the network namespace a socket lives in, from the
// socket itself (ioctl SIOCGSKNS; CAP_NET_ADMIN there): a namespace that a
// socket pins needs no handle of its own until it is entered again.
func NetnsOfSocket(name string, sock int) (*Netns, error) {
	fd, err := unix.IoctlRetInt(sock, unix.SIOCGSKNS)
	if err != nil {
		return nil, fmt.Errorf("network namespace of socket %d (SIOCGSKNS): %w", sock, errnoKind(err))
	}
	return newNetns(name, fmt.Sprintf("socket:%d", sock), fd)
}

// ReopenNetnsOfSocket opens again the namespace of socket sock, which was
// like (an earlier handle on the socket's namespace): one ioctl and no
// checks, for a caller that keeps a socket to reopen a closed handle from
// (a socket's namespace never changes). A proxy does it per connection.
//
// The ioctl is a raw system call (rawsys_linux.go): made the Go
// scheduler's way, each one woke the runtime's monitor thread whenever
// the process was otherwise idle, which then polled every 20 µs: a tenth
// of a proxy's CPU at 1000 tenants, where most connections reopened a
// handle (perf, 2026-12-05).
func ReopenNetnsOfSocket(like *Netns, sock int) (*Netns, error) {
	fd, err := rawIoctlRetInt(sock, unix.SIOCGSKNS)
	if err != nil {
		return nil, fmt.Errorf("network namespace of socket %d (SIOCGSKNS): %w", sock, errnoKind(err))
	}
	f := os.NewFile(uintptr(fd), like.path)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Netns{name: like.name, path: like.path, f: f, rc: rc, ino: like.ino, dev: like.dev}, nil
}

// newNetns makes a handle of fd, which it takes, after checking it is a
// network namespace.
func newNetns(name, path string, fd int) (*Netns, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("stat network namespace %s: %w", path, err)
	}
	// A /run/netns file that is not (or no longer) a mount of nsfs is just
	// an empty file: setns on it fails with EINVAL. Say what that means.
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err == nil && sfs.Type != unix.NSFS_MAGIC {
		unix.Close(fd)
		return nil, fmt.Errorf("%s is not a mounted network namespace (a stale file, or not a namespace at all): %w", path, ErrNotFound)
	}
	// Another kind of namespace (/proc/PID/ns/mnt, say) is nsfs too: only
	// a network namespace may be entered as one.
	if t, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE); err == nil && t != unix.CLONE_NEWNET {
		unix.Close(fd)
		return nil, fmt.Errorf("%s is a namespace, but not a network namespace: %w", path, ErrInvalid)
	}
	f := os.NewFile(uintptr(fd), path)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Netns{name: name, path: path, f: f, rc: rc, ino: st.Ino, dev: st.Dev}, nil
}

// OpenNetns opens a lab namespace by the learner's name ("alpha"), or the
// host namespace for "" or "host".
func OpenNetns(name string) (*Netns, error) {
	if IsHost(name) {
		return OpenNetnsPath("host", "/proc/self/ns/net")
	}
	ns, err := OpenNetnsPath(ShortName(name), filepath.Join(NetnsDir, SysName(name)))
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("network namespace %q does not exist (see `ip netns list`): %w", ShortName(name), ErrNotFound)
	}
	return ns, err
}

// OpenNetnsPID opens the network namespace process pid is in.
func OpenNetnsPID(pid int) (*Netns, error) {
	return OpenNetnsPath("pid:"+strconv.Itoa(pid), fmt.Sprintf("/proc/%d/ns/net", pid))
}

// Name is the learner's name of the namespace ("alpha", "host", "pid:42"),
// or "current" for a nil handle (Do and PingIn take nil as the caller's).
func (n *Netns) Name() string {
	if n == nil {
		return "current"
	}
	return n.name
}

// Path is the file the handle was opened from.
func (n *Netns) Path() string { return n.path }

// Fd is the handle's file descriptor, or -1 once closed. The number is
// only the handle's while nobody can Close it meanwhile (a session's own
// handles, say); code that shares a handle across goroutines uses Control
// or Enter, which hold it for the call.
func (n *Netns) Fd() int {
	fd := -1
	n.Control(func(f int) { fd = f })
	return fd
}

// Control calls fn with the handle's descriptor, which stays open (and the
// same namespace) until fn returns, whatever other goroutines do. It fails
// with net.ErrClosed once the handle is closed.
func (n *Netns) Control(fn func(fd int)) error {
	if n == nil || n.rc == nil {
		return net.ErrClosed
	}
	err := n.rc.Control(func(fd uintptr) { fn(int(fd)) })
	if err != nil && n.closed.Load() {
		return net.ErrClosed
	}
	return err
}

// Enter moves the calling thread into the namespace (setns). The caller
// must have locked its goroutine to the thread and must bring it back
// before unlocking; Do and DoInline do both.
func (n *Netns) Enter() error {
	var serr error
	if err := n.Control(func(fd int) { serr = rawSetns(fd) }); err != nil {
		return fmt.Errorf("enter network namespace %s: the handle is closed: %w", n, err)
	}
	if serr != nil {
		return fmt.Errorf("enter network namespace %s: %w", n, errnoKind(serr))
	}
	return nil
}

// Inode identifies the namespace: two handles with the same inode (and
// device) are the same namespace.
func (n *Netns) Inode() uint64 { return n.ino }

// Equal reports whether both handles refer to the same namespace.
func (n *Netns) Equal(o *Netns) bool { return n != nil && o != nil && n.ino == o.ino && n.dev == o.dev }

func (n *Netns) String() string {
	if n == nil {
		return "current"
	}
	return fmt.Sprintf("%s (net:[%d])", n.name, n.ino)
}

// Close releases the handle. A switch using it at that moment finishes
// first (the descriptor is closed after it); later ones fail. Closing twice
// is harmless.
func (n *Netns) Close() error {
	if n == nil || n.f == nil {
		return nil
	}
	n.closed.Store(true)
	if err := n.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}

// createNamedNetns makes a new network namespace and bind-mounts it at
// NetnsDir/sys, like `ip netns add`. It runs on a fresh locked thread that
// unshares, mounts, and returns to its own namespace; if the return fails the
// thread is discarded. On error nothing is left behind.
func createNamedNetns(sys string) error {
	if err := prepareNetnsDir(); err != nil {
		return err
	}
	path := filepath.Join(NetnsDir, sys)
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("network namespace %s already exists (remove it with `nslab cleanup` if a dead lab left it): %w", sys, ErrExists)
		}
		return fmt.Errorf("create %s: %w", path, errnoKind(unwrapPathErr(err)))
	}
	f.Close()

	err = DoFresh(func() error {
		if err := unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind-mount the new namespace at %s: %w", path, errnoKind(err))
		}
		return nil
	})
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("add network namespace %s: %w", sys, err)
	}
	return nil
}

// removeNamedNetns unmounts and removes NetnsDir/sys, like `ip netns del`.
// The namespace itself dies when no process, socket or handle holds it.
func removeNamedNetns(sys string) error {
	path := filepath.Join(NetnsDir, sys)
	uerr := unix.Unmount(path, unix.MNT_DETACH)
	rerr := os.Remove(path)
	if errors.Is(rerr, os.ErrNotExist) {
		if uerr == nil || uerr == unix.EINVAL || uerr == unix.ENOENT {
			return fmt.Errorf("network namespace %s: %w", sys, ErrNotFound)
		}
	}
	if rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, rerr)
	}
	return nil
}

// prepareNetnsDir makes /run/netns a shared mount point, as iproute2 does, so
// that removing a namespace there also unmounts it in mount namespaces
// created later (a child with its own mounts must not keep it alive).
func prepareNetnsDir() error {
	netnsDirMu.Lock()
	defer netnsDirMu.Unlock()
	if netnsDirReady && isMountPoint(NetnsDir) {
		return nil
	}
	if err := os.MkdirAll(NetnsDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", NetnsDir, errnoKind(unwrapPathErr(err)))
	}
	err := unix.Mount("", NetnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if err == unix.EINVAL { // not a mount point yet
		if err := unix.Mount(NetnsDir, NetnsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind-mount %s on itself: %w", NetnsDir, errnoKind(err))
		}
		err = unix.Mount("", NetnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	}
	if err != nil {
		return fmt.Errorf("make %s a shared mount: %w", NetnsDir, errnoKind(err))
	}
	netnsDirReady = true
	return nil
}

// Marking /run/netns shared walks every mount below it (MS_REC): doing it
// for each new namespace made adding the 1000th cost more than the 100th.
// Once per process is enough, unless someone unmounted it meanwhile.
var (
	netnsDirMu    sync.Mutex
	netnsDirReady bool
)

// isMountPoint reports whether dir is the root of a mount (a bind mount of
// a directory onto itself included, which a device comparison misses).
func isMountPoint(dir string) bool {
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, dir, unix.AT_SYMLINK_NOFOLLOW, 0, &stx); err != nil {
		return false
	}
	return stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 && stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// netnsInode returns the inode of the namespace mounted at NetnsDir/sys, and
// false if none is.
func netnsInode(sys string) (uint64, bool) {
	var st unix.Stat_t
	if !netnsExists(sys) || unix.Stat(filepath.Join(NetnsDir, sys), &st) != nil {
		return 0, false
	}
	return st.Ino, true
}

// replaced reports whether the namespace a journal entry recorded was
// removed and another made under its name (by a user, or another lab):
// then it is not the entry's to change or remove. An entry without an inode
// (older journals, a crash before it was recorded) is judged by name.
func replaced(e Entry) bool {
	if e.Ino == 0 {
		return false
	}
	ino, ok := netnsInode(e.Name)
	return ok && ino != e.Ino
}

// netnsExists reports whether NetnsDir/sys is a mounted namespace.
func netnsExists(sys string) bool {
	var sfs unix.Statfs_t
	if err := unix.Statfs(filepath.Join(NetnsDir, sys), &sfs); err != nil {
		return false
	}
	return sfs.Type == unix.NSFS_MAGIC
}
