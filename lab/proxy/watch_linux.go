package proxy

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lab"
)

// nsWatch tells the proxy when a namespace it follows by name may have
// been deleted or made again, so that an idle proxy has no timer to wake
// for, whatever its number of tenants. Statting every reference every
// Config.Rescan cost 20 000 system calls each 2 s at 10 000 tenants, and
// each wake-up of an idle Go process may start an OS thread (the count
// went 6-8 where 6 is its floor).
//
// A named namespace is a file in a directory (/run/netns, a runtime's
// netns directory): deleting one (ip netns del, a runtime's) unmounts and
// unlinks its file, making one creates it and then mounts the namespace
// on it. The directories of the references in use are watched with
// inotify (one watch each, read through the runtime's poller, so no
// thread waits on it), and an event checks only the references that may
// name that file. Every Config.Rescan, and only while there is any, it
// polls what inotify cannot see: pid: references and paths where a
// directory cannot be watched (/proc), the files of recent events (their
// namespace may be mounted a moment after the event), and the namespace
// handles opened again since they were parked (to park them again once
// idle). A namespace unmounted from a file that stays, or mounted over an
// existing file, makes no event: POST /resync (Resync) finds it.
type nsWatch struct {
	p    *Proxy
	in   *os.File // the inotify instance (nil: none; everything is polled)
	kick chan struct{}

	mu      sync.Mutex
	dirs    map[string]int32 // watched directory → watch descriptor
	wds     map[int32]string
	names   map[string]bool   // the files followed references may name
	blind   map[string]int    // references polled each tick → entries held
	pending map[string]int    // paths events named → ticks left to check them
	woken   map[*nsEntry]bool // handles opened again: park when idle
	gone    map[string]bool   // watched directories removed: watch again when back
	lost    bool              // events were lost, or a directory: check all
	checked int               // references checked by ticks and events (tests)
}

// pendingTicks is for how many ticks the file an event named is checked
// again, in case its namespace was not mounted yet when the event came.
const pendingTicks = 3

// newWatch makes the watcher, with an inotify instance if it can have
// one. Nothing is watched until references are followed.
func newWatch(p *Proxy) *nsWatch {
	w := &nsWatch{p: p, kick: make(chan struct{}, 1), dirs: map[string]int32{}, wds: map[int32]string{}, names: map[string]bool{},
		blind: map[string]int{}, pending: map[string]int{}, woken: map[*nsEntry]bool{}, gone: map[string]bool{}}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		p.log.Warn("no inotify: namespaces followed by name are polled", "err", err)
		return w
	}
	w.in = os.NewFile(uintptr(fd), "inotify") // non-blocking: read through the poller
	return w
}

// refPaths are the files a reference may name: a lab name or a plain
// one in lab.NetnsDir, or a path. Host and pid: references name none
// that inotify can see.
func refPaths(ref string) []string {
	k, _, err := lab.ParseNetnsRef(ref)
	switch {
	case err != nil:
		return nil
	case k == lab.RefName:
		return []string{filepath.Join(lab.NetnsDir, lab.SysName(ref)), filepath.Join(lab.NetnsDir, ref)}
	case k == lab.RefPath:
		return []string{ref}
	}
	return nil
}

// follow starts watching what ref names (a namespace entry for it was
// made). A reference whose directory cannot be watched is polled.
func (w *nsWatch) follow(ref string) {
	if w == nil || lab.IsHost(ref) {
		return
	}
	paths := refPaths(ref)
	seen := len(paths) > 0 && w.in != nil
	for _, path := range paths {
		if !w.watchDir(filepath.Dir(path)) {
			seen = false
		}
	}
	// Kept after the entry goes: a tenant whose namespace went waits
	// for its file to come back. (A name is ~100 B: 2 MiB for 10 000
	// tenants with two candidate files each.)
	w.mu.Lock()
	for _, path := range paths {
		w.names[path] = true
	}
	w.mu.Unlock()
	if !seen {
		w.mu.Lock()
		w.blind[ref]++
		w.mu.Unlock()
		w.poke()
	}
}

// awake has a handle opened again (from its parked state) parked again
// once idle.
func (w *nsWatch) awake(e *nsEntry) {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.woken[e] = true
	w.mu.Unlock()
	w.poke()
}

func (w *nsWatch) poke() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// unfollow is follow undone (the entry was closed).
func (w *nsWatch) unfollow(ref string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	if n, ok := w.blind[ref]; ok {
		if n <= 1 {
			delete(w.blind, ref)
		} else {
			w.blind[ref] = n - 1
		}
	}
	w.mu.Unlock()
}

// watchDir watches dir for files created, deleted and renamed, once.
func (w *nsWatch) watchDir(dir string) bool {
	if w.in == nil || strings.HasPrefix(dir, "/proc/") {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.dirs[dir]; ok {
		return true
	}
	wd, err := unix.InotifyAddWatch(int(w.in.Fd()), dir,
		unix.IN_CREATE|unix.IN_DELETE|unix.IN_MOVED_FROM|unix.IN_MOVED_TO|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_ONLYDIR)
	if err != nil {
		return false
	}
	w.dirs[dir], w.wds[int32(wd)] = int32(wd), dir
	return true
}

// read turns inotify events into pending paths until the file is closed.
func (w *nsWatch) read() {
	defer w.p.bg.Done()
	buf := make([]byte, 16<<10)
	for {
		n, err := w.in.Read(buf)
		if err != nil {
			return // closed
		}
		kick := false
		w.mu.Lock()
		for b := buf[:n]; len(b) >= unix.SizeofInotifyEvent; {
			wd := int32(binary.NativeEndian.Uint32(b[0:]))
			mask := binary.NativeEndian.Uint32(b[4:])
			nameLen := int(binary.NativeEndian.Uint32(b[12:]))
			name := strings.TrimRight(string(b[unix.SizeofInotifyEvent:unix.SizeofInotifyEvent+nameLen]), "\x00")
			b = b[unix.SizeofInotifyEvent+nameLen:]
			dir, ok := w.wds[wd]
			switch {
			case mask&unix.IN_Q_OVERFLOW != 0:
				w.lost, kick = true, true
			case !ok:
			case mask&(unix.IN_IGNORED|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF) != 0:
				// The directory itself went: check everything, and
				// watch it again once it is back.
				delete(w.wds, wd)
				delete(w.dirs, dir)
				w.gone[dir] = true
				w.lost, kick = true, true
			case name != "":
				// Another program's namespaces come and go in the
				// same directory: only the proxy's own are looked at.
				if path := filepath.Join(dir, name); w.names[path] {
					w.pending[path] = pendingTicks
					kick = true
				}
			}
		}
		w.mu.Unlock()
		if kick {
			w.poke()
		}
	}
}

// loop checks what events named (after a short settle, so that the
// namespace is mounted on the file just made) and, every Config.Rescan
// while there is anything to poll, what inotify cannot see.
func (w *nsWatch) loop() {
	defer w.p.bg.Done()
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	tick := time.NewTimer(time.Hour)
	tick.Stop()
	ticking := false
	arm := func() {
		if !ticking && w.polls() {
			tick.Reset(w.p.cfg.Rescan)
			ticking = true
		}
	}
	arm()
	for {
		select {
		case <-w.p.stop:
			return
		case <-w.kick:
			settle.Reset(50 * time.Millisecond)
			arm()
		case <-settle.C:
			w.check(false)
			arm()
		case <-tick.C:
			ticking = false
			w.check(true)
			arm()
		}
	}
}

// polls reports whether a tick has anything to look at.
func (w *nsWatch) polls() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lost || len(w.blind) > 0 || len(w.pending) > 0 || len(w.woken) > 0 || len(w.gone) > 0
}

// check resyncs the references that events named, and on a tick also the
// blind ones, and parks the handles opened again that are idle.
func (w *nsWatch) check(tick bool) {
	w.mu.Lock()
	all := w.lost
	w.lost = false
	paths := map[string]bool{}
	for path, left := range w.pending {
		paths[path] = true
		if tick {
			if left <= 1 {
				delete(w.pending, path)
			} else {
				w.pending[path] = left - 1
			}
		}
	}
	refs := map[string]bool{}
	var woken []*nsEntry
	var gone []string
	if tick {
		for dir := range w.gone {
			gone = append(gone, dir)
		}
		for ref := range w.blind {
			refs[ref] = true
		}
		for e := range w.woken {
			woken = append(woken, e)
		}
	}
	w.mu.Unlock()
	for _, dir := range gone {
		if w.watchDir(dir) { // back: what changed in it meanwhile made no event
			w.mu.Lock()
			delete(w.gone, dir)
			w.mu.Unlock()
			all = true
		}
	}
	now := time.Now()
	for _, e := range woken {
		tried := now.UnixNano()-e.used.Load() > int64(parkIdle)
		e.parkIfIdle(now)
		e.hmu.RLock()
		done := e.parked || e.src == nil || tried // parked again, closed, or cannot be
		e.hmu.RUnlock()
		if done {
			w.mu.Lock()
			delete(w.woken, e)
			w.mu.Unlock()
		}
	}
	if !all && len(paths) == 0 && len(refs) == 0 {
		return
	}
	match := func(ref string) bool {
		if all || refs[ref] {
			return true
		}
		for _, path := range refPaths(ref) {
			if paths[path] {
				return true
			}
		}
		return false
	}
	n, err := w.p.resync(match)
	w.count(n)
	if err != nil {
		w.p.log.Warn("resync", "err", err)
	}
}

func (w *nsWatch) count(n int) {
	w.mu.Lock()
	w.checked += n
	w.mu.Unlock()
}

// Checked is how many namespace references the proxy has looked at on
// its own (on inotify events and on its timer) since it started: what an
// idle proxy should keep still, whatever its number of tenants.
func (p *Proxy) Checked() int {
	if p.watch == nil {
		return 0
	}
	p.watch.mu.Lock()
	defer p.watch.mu.Unlock()
	return p.watch.checked
}

func (w *nsWatch) close() {
	if w != nil && w.in != nil {
		w.in.Close()
	}
}
