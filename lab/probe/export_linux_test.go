package probe

// ForgetSockets drops what earlier snapshots remembered about which
// descriptors were sockets, so the next snapshot takes the long way.
func ForgetSockets() { lastSockets.reset() }

// SetPidfdGetfd replaces pidfd_getfd (to play an old kernel) and returns a
// function that restores it.
func SetPidfdGetfd(f func(pidfd, fd, flags int) (int, error)) (restore func()) {
	old := pidfdGetfd
	pidfdGetfd = f
	return func() { pidfdGetfd = old }
}

// SetAfterOpen runs f in Take right after /proc/PID is opened, before
// anything is read, and returns a function that restores the default.
func SetAfterOpen(f func(pid int)) (restore func()) {
	old := afterOpen
	afterOpen = f
	return func() { afterOpen = old }
}
