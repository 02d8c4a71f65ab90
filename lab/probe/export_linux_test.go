package probe

// ForgetSockets drops what earlier snapshots remembered about sockets, so
// the next snapshot asks every one.
func ForgetSockets() { known.reset() }

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

// InitInodes is initInodes: the inodes reserved for the initial namespaces
// on a kernel of this release.
func InitInodes(release string) map[string]uint64 { return initInodes(release) }

// KernelRelease is uname -r.
func KernelRelease() string { return kernelRelease() }

// ForgetCookies drops the remembered namespace cookies, so the next
// snapshot asks SIOCGSKNS of every namespace again.
func ForgetCookies() {
	cookies.Lock()
	defer cookies.Unlock()
	clear(cookies.ino)
}
