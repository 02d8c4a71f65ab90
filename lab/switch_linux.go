package lab

import (
	"fmt"
	"runtime"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// setnsRestore puts the calling thread back into origin. Tests replace it to
// inject a failure; production code never changes it.
var setnsRestore = func(origin int) error { return unix.Setns(origin, unix.CLONE_NEWNET) }

// home is a handle on the network namespace this process started in, opened
// once. Restoring a thread whose origin is home (always, unless someone else
// moved a thread) reuses it instead of opening /proc/thread-self/ns/net on
// every switch (an open+close costs ~12 µs here; a readlink ~5 µs).
var home struct {
	once sync.Once
	fd   int
	ino  uint64
	err  error
}

func homeNetns() (int, uint64, error) {
	home.once.Do(func() {
		home.fd, home.err = unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if home.err == nil {
			var st unix.Stat_t
			home.err = unix.Fstat(home.fd, &st)
			home.ino = st.Ino
		}
	})
	return home.fd, home.ino, home.err
}

// threadOrigin returns a handle on the network namespace the calling (locked)
// thread is in now, and whether the caller must close it.
func threadOrigin() (fd int, owned bool, err error) {
	var buf [48]byte
	n, err := unix.Readlink("/proc/thread-self/ns/net", buf[:])
	if err != nil {
		return -1, false, fmt.Errorf("read this thread's network namespace: %w", err)
	}
	hfd, hino, herr := homeNetns()
	if herr == nil && parseNsLink(buf[:n]) == hino {
		return hfd, false, nil
	}
	fd, err = unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, false, fmt.Errorf("open this thread's network namespace: %w", err)
	}
	return fd, true, nil
}

// parseNsLink parses the inode out of a namespace link, "net:[4026531840]".
func parseNsLink(b []byte) uint64 {
	for i, c := range b {
		if c == '[' && len(b) > i+2 {
			v, _ := strconv.ParseUint(string(b[i+1:len(b)-1]), 10, 64)
			return v
		}
	}
	return 0
}

// switchRun is the namespace switch every entry goes through: on a fresh
// goroutine it locks the OS thread, reads the thread's own namespace, calls
// enter (setns or unshare), runs fn, and restores. It unlocks only if the
// restore succeeded; otherwise the goroutine exits locked and the runtime
// discards the thread, so no later goroutine runs in the wrong namespace. A
// panic in fn is re-raised on the caller's goroutine after the restore.
func switchRun(label string, enter func() error, fn func() error) error {
	type result struct {
		err   error
		panic any
	}
	done := make(chan result, 1)
	GoLocked(func() {
		origin, owned, err := threadOrigin()
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		if owned {
			defer unix.Close(origin)
		}
		if err := enter(); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		var r result
		func() {
			defer func() { r.panic = recover() }()
			r.err = fn()
		}()
		if err := setnsRestore(origin); err != nil {
			// Stay locked: when this goroutine returns, the runtime
			// terminates the thread instead of reusing it.
			r.err = joinErr(r.err, &RestoreError{Netns: label, Err: err})
			done <- r
			return
		}
		runtime.UnlockOSThread()
		done <- r
	})
	r := <-done
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

// GoLocked runs fn on a new goroutine locked to an OS thread that is not
// the process's main thread. fn may unlock it (runtime.UnlockOSThread) or
// return locked, and then the runtime ends the thread. It never ends the
// main thread: a goroutine that returns locked there wedges it, forever,
// in whatever namespace it was left in. A program that locks its main
// goroutine in init (the test binaries, through labtest) never runs
// anything else there; one that does not (nslab itself, its workers and
// children: locking would park a thread for nothing) can land a goroutine
// there, and then GoLocked holds the main thread until a second goroutine
// has locked another thread for fn.
func GoLocked(fn func()) {
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != mainThread {
			fn()
			return
		}
		locked := make(chan struct{})
		go func() {
			runtime.LockOSThread() // the main thread is ours: another one
			close(locked)
			fn()
		}()
		<-locked
		runtime.UnlockOSThread()
	}()
}

// mainThread is the main thread's ID: the process ID.
var mainThread = unix.Getpid()

// Do runs fn inside network namespace ns, on a fresh goroutine locked to its
// OS thread, and waits for it (see switchRun). If the thread cannot return
// to its namespace it is discarded and Do returns a *RestoreError, joined
// with fn's error.
//
// fn must not start goroutines or wait on work that might run on another
// thread: use IP literals, not host names (see DialIn). A nil ns runs fn in
// the caller's namespace, on the caller's goroutine.
func Do(ns *Netns, fn func() error) error {
	if ns == nil {
		return fn()
	}
	return switchRun(ns.String(), func() error {
		if err := unix.Setns(ns.fd, unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("enter network namespace %s: %w", ns, errnoKind(err))
		}
		return nil
	}, fn)
}

// DoFresh runs fn inside a brand-new anonymous network namespace that only
// this locked thread holds; the namespace dies when the thread leaves it,
// unless fn pins it (a bind mount, an open fd).
func DoFresh(fn func() error) error {
	return switchRun("new namespace", func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("unshare(CLONE_NEWNET): %w", errnoKind(err))
		}
		return nil
	}, fn)
}

func joinErr(a, b error) error {
	if a == nil {
		return b
	}
	return fmt.Errorf("%w; %w", a, b)
}

// errnoKind wraps well-known errnos with the lab's sentinel errors so callers
// and users get an actionable message.
func errnoKind(err error) error {
	switch err {
	case unix.EPERM, unix.EACCES:
		return fmt.Errorf("%w: %w", err, ErrNotPrivileged)
	case unix.EPROTONOSUPPORT, unix.EAFNOSUPPORT, unix.EOPNOTSUPP:
		return fmt.Errorf("%w: %w", err, ErrUnsupported)
	case unix.ENOENT, unix.ENODEV, unix.ESRCH:
		return fmt.Errorf("%w: %w", err, ErrNotFound)
	case unix.EEXIST:
		return fmt.Errorf("%w: %w", err, ErrExists)
	}
	return err
}
