package proxy

// SetConnHook has every relay the shared strategy's event loops start
// reported to h, with its client and upstream descriptors (valid only
// during the call), until undo.
func SetConnHook(h func(listenIno, targetIno uint64, client, upstream int)) (undo func()) {
	testConnHook.Store(&h)
	return func() { testConnHook.Store(nil) }
}
