package proxy

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lab"
)

// nsEntry is one namespace the proxy holds a handle on, shared by every
// tenant and route that uses it and counted: the handle is closed when the
// last of them lets go, so a deleted namespace is not kept alive by the
// proxy once nothing of it is served (a handle is enough to keep a network
// namespace, its interfaces and its routes in the kernel).
//
// An entry is one namespace, not one name: a name whose namespace is
// deleted and made again gets a second entry, by inode, and the first one
// goes when its users have moved.
//
// A tenant's entry may also be parked: its handle closed, the namespace
// pinned by the tenant's listening socket alone, and opened again from
// that socket (SIOCGSKNS) when a connection needs it. A handle is a file
// descriptor, like a listener: 10 000 tenants with one route each were
// 20 000 of them, this machine's limit. A parked handle is opened on the
// first use and parked again after parkIdle without one.
type nsEntry struct {
	tab  *nsTable
	ref  string // how it was named (see lab.ParseNetnsRef)
	host bool   // this process's own namespace: no handle at all
	ino  uint64
	pl   place
	refs int // under tab.mu

	hmu    sync.RWMutex
	ns     *lab.Netns // the open handle (nil: host, or parked)
	src    *rawConn   // parked: a socket bound in the namespace, to open it from again
	parked bool
	// like is the last handle parked (closed): what one opened again from
	// src is (lab.ReopenNetnsOfSocket). checked is the socket park last
	// saw give back this namespace: parking from it again needs no check.
	like    *lab.Netns
	checked *rawConn
	used    atomic.Int64 // unix nanos of the handle's last use
}

// parkIdle is how long an unused tenant handle stays open once its
// tenant's listener can give it back (checked each Config.Rescan while
// any handle was opened again; see nsWatch).
const parkIdle = 30 * time.Second

// label names the entry in errors and logs.
func (e *nsEntry) label() string {
	if e.host {
		return "host"
	}
	return fmt.Sprintf("%s (net:[%d])", e.ref, e.ino)
}

// with runs fn with an open handle on the namespace (nil for the host),
// opening a parked one again from its socket.
func (e *nsEntry) with(fn func(*lab.Netns) error) error {
	ns, err := e.pin()
	if err != nil {
		return err
	}
	defer e.unpin()
	return fn(ns)
}

// pin returns the open handle (nil for the host), opening a parked one
// again, and keeps it open until unpin.
func (e *nsEntry) pin() (*lab.Netns, error) {
	for {
		e.hmu.RLock()
		if !e.parked {
			e.used.Store(time.Now().UnixNano())
			return e.ns, nil
		}
		e.hmu.RUnlock()
		e.hmu.Lock()
		if e.parked {
			// src was checked to be in this namespace when the handle
			// was parked (a socket's namespace never changes): one
			// ioctl, where opening it as a new handle was four system
			// calls more (and park's check as many again), paid per
			// connection by tenants whose handle a lull had parked.
			var ns *lab.Netns
			err := e.src.Control(func(fd uintptr) { ns, _ = lab.ReopenNetnsOfSocket(e.like, int(fd)) })
			if err != nil || ns == nil || ns.Inode() != e.ino {
				ns.Close()
				e.hmu.Unlock()
				return nil, fmt.Errorf("%s: its handle was parked and cannot be opened again from its listener: %w", e.label(), errPlaceClosed)
			}
			e.ns, e.parked = ns, false
			e.tab.p.watch.awake(e) // to be parked again once idle
		}
		e.hmu.Unlock()
	}
}

func (e *nsEntry) unpin() { e.hmu.RUnlock() }

// park closes the handle if src, a socket bound in the namespace, can
// open it again (the process may lack CAP_NET_ADMIN for that, and then
// the handle stays). Waits for the uses in progress.
func (e *nsEntry) park(src *rawConn) {
	if e.host {
		return
	}
	e.hmu.RLock()
	ok := e.checked == src
	e.hmu.RUnlock()
	if !ok {
		src.Control(func(fd uintptr) {
			if ns, err := lab.NetnsOfSocket(e.ref, int(fd)); err == nil {
				ok = ns.Inode() == e.ino
				ns.Close()
			}
		})
	}
	if !ok {
		return
	}
	e.hmu.Lock()
	defer e.hmu.Unlock()
	if !e.parked && e.ns != nil {
		e.ns.Close()
		e.like = e.ns
		e.ns, e.src, e.parked, e.checked = nil, src, true, src
	}
}

// unpark opens the handle again (before the socket that could is closed).
func (e *nsEntry) unpark(src *rawConn) {
	e.hmu.RLock()
	mine := e.parked && e.src == src
	e.hmu.RUnlock()
	if mine {
		if _, err := e.pin(); err == nil {
			e.unpin()
		}
	}
	e.hmu.Lock()
	if e.src == src {
		e.src = nil
	}
	if e.checked == src {
		e.checked = nil
	}
	e.hmu.Unlock()
}

// parkIfIdle parks a handle unused for parkIdle, if its socket is known.
func (e *nsEntry) parkIfIdle(now time.Time) {
	e.hmu.RLock()
	src, idle := e.src, !e.parked && e.ns != nil && now.UnixNano()-e.used.Load() > int64(parkIdle)
	e.hmu.RUnlock()
	if src != nil && idle {
		e.park(src)
	}
}

// nsTable holds the proxy's namespace handles.
type nsTable struct {
	p  *Proxy
	mu sync.Mutex
	m  map[nsKey]*nsEntry
}

type nsKey struct {
	ref string
	ino uint64
}

// acquire returns the entry for what ref names now, opening it (and
// making the strategy's place there) on first use, and counts one more
// user. tenant says whether the place is a tenant's own (see newPlace).
func (t *nsTable) acquire(ref string, tenant bool) (*nsEntry, error) {
	ns, ino, err := t.p.openRef(ref)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	k := nsKey{ref, ino}
	if e := t.m[k]; e != nil {
		e.refs++
		ns.Close() // already held
		return e, nil
	}
	e := &nsEntry{tab: t, ref: ref, ns: ns, host: ns == nil, ino: ino, refs: 1}
	e.used.Store(time.Now().UnixNano())
	pl, err := t.p.newPlace(e, tenant)
	if err != nil {
		ns.Close()
		return nil, err
	}
	e.pl = pl
	if t.m == nil {
		t.m = map[nsKey]*nsEntry{}
	}
	t.m[k] = e
	t.p.watch.follow(ref)
	return e, nil
}

// hold counts one more user of an entry already held.
func (e *nsEntry) hold() *nsEntry {
	e.tab.mu.Lock()
	e.refs++
	e.tab.mu.Unlock()
	return e
}

// release lets go of one use. The last one closes the place (which waits
// for dials in flight there) and the handle.
func (e *nsEntry) release() {
	if e == nil {
		return
	}
	t := e.tab
	t.mu.Lock()
	e.refs--
	last := e.refs == 0
	if last {
		delete(t.m, nsKey{e.ref, e.ino})
	}
	t.mu.Unlock()
	if last {
		t.p.watch.unfollow(e.ref)
		e.pl.close()
		e.hmu.Lock()
		e.ns.Close()
		e.ns, e.src, e.parked = nil, nil, false
		e.hmu.Unlock()
	}
}

// held lists the entries (for Resync and tests).
func (t *nsTable) held() []*nsEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Collect(maps.Values(t.m))
}

// openRef opens what ref names now; a nil handle is this process's own
// namespace (host, or a process-per-namespace child's own tenant).
func (p *Proxy) openRef(ref string) (*lab.Netns, uint64, error) {
	switch {
	case ref == p.here && ref != "":
		ino, err := selfInode()
		return nil, ino, err
	case lab.IsHost(ref) && p.host != "":
		ns, err := lab.OpenNetnsPath("host", p.host)
		if err != nil {
			return nil, 0, err
		}
		return ns, ns.Inode(), nil
	case lab.IsHost(ref):
		ino, err := selfInode()
		return nil, ino, err
	}
	ns, err := lab.OpenNetnsRef(ref)
	if err != nil {
		return nil, 0, err
	}
	return ns, ns.Inode(), nil
}

// statRef is the inode ref names now, for noticing a namespace deleted and
// made again (lab.StatNetnsRef: no open).
func (p *Proxy) statRef(ref string) (uint64, error) {
	switch {
	case ref == p.here && ref != "", lab.IsHost(ref) && p.host == "":
		return selfInode()
	case lab.IsHost(ref):
		var st unix.Stat_t
		if err := unix.Stat(p.host, &st); err != nil {
			return 0, fmt.Errorf("host namespace %s: %w", p.host, lab.ErrNotFound)
		}
		return st.Ino, nil
	}
	return lab.StatNetnsRef(ref)
}

// moved reports whether the namespace ref names is no longer ino: deleted
// (gone true), or made again (a new inode, for a reference that follows
// its name). A pid reference whose process is gone, or whose number now
// belongs to a process elsewhere, is gone: pids are pinned.
func (p *Proxy) moved(ref string, ino uint64) (now uint64, gone, changed bool) {
	now, err := p.statRef(ref)
	switch {
	case errors.Is(err, lab.ErrNotFound), err != nil:
		return 0, true, true
	case now == ino:
		return now, false, false
	case !lab.NetnsRefFollows(ref):
		return 0, true, true
	}
	return now, false, true
}

func selfInode() (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}
