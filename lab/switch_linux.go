package lab

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// setnsRestore puts the calling thread back into origin. Tests replace it to
// inject a failure; production code never changes it.
var setnsRestore = func(origin int) error { return unix.Setns(origin, unix.CLONE_NEWNET) }

// Do runs fn inside network namespace ns, on a fresh goroutine locked to its
// OS thread, and waits for it. The thread's own namespace is read after
// locking (/proc/thread-self/ns/net) and restored afterwards; the goroutine
// unlocks only if that restore succeeded. If it failed, the goroutine exits
// still locked, the runtime discards the thread, and Do returns a
// *RestoreError (joined with fn's error).
//
// fn must not start goroutines or block on other goroutines that might run on
// this thread: use IP literals, not host names (see DialIn). A nil ns runs fn
// in the caller's namespace, on the caller's goroutine. A panic in fn is
// re-raised on the caller's goroutine after the thread is restored.
func Do(ns *Netns, fn func() error) error {
	if ns == nil {
		return fn()
	}
	type result struct {
		err   error
		panic any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		origin, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("open this thread's network namespace: %w", err)}
			return
		}
		defer unix.Close(origin)
		if err := unix.Setns(ns.fd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("enter network namespace %s: %w", ns, errnoKind(err))}
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
			r.err = joinErr(r.err, &RestoreError{Netns: ns.String(), Err: err})
			done <- r
			return
		}
		runtime.UnlockOSThread()
		done <- r
	}()
	r := <-done
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
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
