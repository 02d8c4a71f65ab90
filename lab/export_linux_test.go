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
