package lab

import "net"

// SetRestoreHook replaces the switch's restore step for a test and returns
// a function that puts the real one back.
func SetRestoreHook(f func(origin int, restore func(int) error) error) (undo func()) {
	real := setnsRestore
	setnsRestore = func(origin int) error { return f(origin, real) }
	return func() { setnsRestore = real }
}

// ListenRawIn exposes the raw-fd listener path for tests, which run it with
// TCP because this kernel (and CI's) may have no SCTP.
func ListenRawIn(ns *Netns, network string, typ, proto int, addr string) (net.Listener, error) {
	return listenRawIn(ns, network, typ, proto, addr)
}

// Abandon drops the session the way a killed process (or --keep) does:
// its journal is unlocked and kept, and everything it made stays.
func (s *Session) Abandon() {
	s.closeMu.Lock()
	s.closed = true
	s.closeMu.Unlock()
	s.closeOnce.Do(func() { s.release(false) })
}

// RetryDump exposes the retry of interrupted netlink dumps.
func RetryDump[T any](f func() (T, error)) (T, error) { return retryDump(f) }

// DropStartupPages exposes what a re-executed child does before its entry
// point.
func DropStartupPages() { dropStartupPages() }
