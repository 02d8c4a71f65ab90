package proxy

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// loop is one of the proxy's event loops, which carry the shared
// strategy's TCP forwarding: accept, connect upstream, and move bytes both
// ways, all from one goroutine per loop (one loop per CPU), with no
// goroutine per connection.
//
// A loop keeps an epoll instance of its own and puts it into the Go
// netpoller like any descriptor (an epoll fd is readable while a member is
// ready); its goroutine parks there and, woken, takes every ready event in
// one epoll_wait and handles each without blocking. Members are
// level-triggered: a read that did not take everything is reported again,
// so nothing reads until EAGAIN. Every listener is in every loop's set
// with EPOLLEXCLUSIVE, so the kernel wakes one loop per new connection; a
// connection's two sockets stay in the loop that accepted it. They do not
// spread evenly: with the loops waiting through the Go netpoller, the
// first loop is woken nearly every time (32 of 32 keep-alive clients at
// 10 tenants, 26 of 32 at 1000). Handing new connections to the loop with
// the fewest (tried, 2026-12-04) changed neither the request rates nor
// the p99 beyond the bench's noise, so it is not done.
//
// What goroutines did per connection before (two of them, their stacks
// grown, a wake-up of each per message, a netpoller registration per
// socket) was a third of the CPU a proxied connection cost.
type loop struct {
	p    *Proxy
	ep   *os.File // the epoll instance, in the netpoller
	rc   syscall.RawConn
	epfd int
	wake int // eventfd: posts are waiting
	tick int // timerfd: time-outs to check, armed while relays are open

	turns atomic.Uint64 // batches of events handled (scale_procs and tests read it)

	mu      sync.Mutex
	lns     map[uint64]*listener // listeners, by token (every loop has all)
	posts   []func()
	stopped bool

	// Owned by the loop's goroutine.
	ends    map[uint64]*end
	nextTok uint64
	relays  relay // the list's anchor (relays.next is the first)
	nrelays int
	runq    []*relay // relays with more to do (see later)
	spare   []*relay
	ticking time.Duration
	buf     []byte
	now     int64
	done    chan struct{}
}

const (
	tokWake uint64 = 1
	tokTick uint64 = 2
	// Listener tokens have the high bit; a loop's own (relay ends) not.
	tokListener uint64 = 1 << 63
)

// loopBuf is each loop's read buffer: a read that fills it means a bulk
// transfer, which then goes through a pipe with splice(2).
const loopBuf = 64 << 10

func newLoop(p *Proxy) (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	l := &loop{p: p, epfd: epfd, wake: -1, tick: -1, lns: map[uint64]*listener{}, ends: map[uint64]*end{},
		nextTok: 16, buf: make([]byte, loopBuf), done: make(chan struct{})}
	l.relays.next, l.relays.prev = &l.relays, &l.relays
	fail := func(what string, err error) (*loop, error) {
		unix.Close(epfd)
		if l.wake >= 0 {
			unix.Close(l.wake)
		}
		if l.tick >= 0 {
			unix.Close(l.tick)
		}
		return nil, fmt.Errorf("event loop: %s: %w", what, err)
	}
	if l.wake, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		return fail("eventfd", err)
	}
	if l.tick, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err != nil {
		return fail("timerfd_create", err)
	}
	for _, m := range []struct {
		fd  int
		tok uint64
	}{{l.wake, tokWake}, {l.tick, tokTick}} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN}
		setTok(&ev, m.tok)
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, m.fd, &ev); err != nil {
			return fail("epoll_ctl", err)
		}
	}
	// Non-blocking, so that os.NewFile hands it to the netpoller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		return fail("epoll instance", err)
	}
	l.ep = os.NewFile(uintptr(epfd), "nslab-proxy-loop")
	if l.rc, err = l.ep.SyscallConn(); err != nil {
		l.ep.Close()
		unix.Close(l.wake)
		unix.Close(l.tick)
		return nil, err
	}
	go l.run()
	return l, nil
}

func setTok(ev *unix.EpollEvent, tok uint64) {
	ev.Fd = int32(uint32(tok))
	ev.Pad = int32(uint32(tok >> 32))
}

func tokOf(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// run waits in the netpoller until a member is ready, handles every ready
// one, and yields its P before it looks again. If the goroutine ends while
// a relay is being set up (a thread that could not leave a tenant's
// namespace ends with it: see lab.DoInline), a new one takes over the
// loop.
func (l *loop) run() {
	normal := false
	defer func() {
		if !normal {
			l.p.log.Error("event loop goroutine ended in a namespace switch; starting another")
			go l.run()
		}
	}()
	events := make([]unix.EpollEvent, 256)
	for {
		n := 0
		err := l.rc.Read(func(fd uintptr) bool {
			var err error
			n, err = rawEpollWait(int(fd), events)
			// Nothing yet: park until the instance is readable, unless
			// relays wait on the run queue.
			return err == nil && (n > 0 || len(l.runq) > 0)
		})
		if err != nil { // closed
			normal = true
			close(l.done)
			return
		}
		l.now = time.Now().UnixNano()
		for i := range events[:n] {
			ev := &events[i]
			switch tok := tokOf(ev); {
			case tok == tokWake:
				l.runPosts()
			case tok == tokTick:
				l.sweep()
			case tok&tokListener != 0:
				l.mu.Lock()
				ln := l.lns[tok]
				l.mu.Unlock()
				if ln != nil {
					ln.acceptIn(l)
				}
			default:
				if e := l.ends[tok]; e != nil {
					e.r.ready(e, ev.Events)
				}
			}
		}
		if len(l.runq) > 0 {
			l.runQueue()
		}
		l.turns.Add(1)
		// A loop with more to do never parks. A goroutine readied on this
		// P meanwhile (the other loop, when the netpoller finds events for
		// both at once: it runs one and queues the other) would wait for
		// the runtime to preempt this one, 10 ms on, or for a thread woken
		// to take it, which a busy machine may not run for milliseconds.
		// A yield with nothing else to run costs about 0.1 µs (see
		// docs/proxy.md, "A busy loop yields", for what it changed).
		runtime.Gosched()
	}
}

// post runs f on the loop's goroutine, soon. After stop, f runs at once on
// the caller's: there is nothing left for it to race with.
func (l *loop) post(f func()) {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		f()
		return
	}
	l.posts = append(l.posts, f)
	l.mu.Unlock()
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(l.wake, one[:])
}

// call runs f on the loop's goroutine and waits for it.
func (l *loop) call(f func()) {
	done := make(chan struct{})
	l.post(func() { f(); close(done) })
	<-done
}

func (l *loop) runPosts() {
	var b [8]byte
	unix.Read(l.wake, b[:])
	l.mu.Lock()
	ps := l.posts
	l.posts = nil
	l.mu.Unlock()
	for _, f := range ps {
		f()
	}
}

// addListener puts a listener in this loop's set. EPOLLEXCLUSIVE: of the
// loops waiting, the kernel wakes one per connection.
func (l *loop) addListener(ln *listener, fd int) error {
	l.mu.Lock()
	l.lns[ln.tok] = ln
	l.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLEXCLUSIVE}
	setTok(&ev, ln.tok)
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.mu.Lock()
		delete(l.lns, ln.tok)
		l.mu.Unlock()
		return fmt.Errorf("epoll_ctl add: %w", err)
	}
	return nil
}

// removeListener takes a listener out of this loop's set (fd < 0: the
// socket is out already, or closed).
func (l *loop) removeListener(ln *listener, fd int) {
	if fd >= 0 {
		unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	}
	l.mu.Lock()
	delete(l.lns, ln.tok)
	l.mu.Unlock()
}

// register puts a relay end in the set, edge-triggered for reading and
// writing, for good: closing the socket takes it out. Loop goroutine only.
func (l *loop) register(e *end) error {
	l.nextTok++
	e.tok = l.nextTok
	l.ends[e.tok] = e
	x := unix.EpollEvent{Events: endEvents}
	setTok(&x, e.tok)
	if err := rawEpollCtl(l.epfd, unix.EPOLL_CTL_ADD, e.fd, &x); err != nil {
		delete(l.ends, e.tok)
		e.tok = 0
		return fmt.Errorf("epoll_ctl add: %w", err)
	}
	return nil
}

// later puts a relay with more to do on the run queue: the loop goes on
// with it after the events at hand, before it waits for more.
func (l *loop) later(r *relay) {
	if !r.queued {
		r.queued = true
		l.runq = append(l.runq, r)
	}
}

// runQueue gives each queued relay another turn.
func (l *loop) runQueue() {
	q := l.runq
	l.runq = l.spare[:0]
	for _, r := range q {
		r.queued = false
		if !r.closed {
			r.run()
		}
	}
	clear(q)
	l.spare = q
}

// forget drops a relay end that is about to be closed (closing the socket
// takes it out of the epoll set by itself).
func (l *loop) forget(e *end) {
	if e.tok != 0 {
		delete(l.ends, e.tok)
		e.tok = 0
	}
}

// link and unlink keep the loop's list of open relays, for time-outs and
// for closing a listener's connections.
func (l *loop) link(r *relay) {
	r.prev, r.next = l.relays.prev, &l.relays
	l.relays.prev.next = r
	l.relays.prev = r
	l.nrelays++
	if l.nrelays == 1 {
		l.armTick()
	}
}

func (l *loop) unlink(r *relay) {
	r.prev.next, r.next.prev = r.next, r.prev
	r.prev, r.next = nil, nil
	l.nrelays--
}

// armTick starts the time-out checks, every tickEvery (an idle loop has no
// timer running: nothing wakes an idle proxy).
func (l *loop) armTick() {
	d := l.p.tickEvery()
	if d == l.ticking {
		return
	}
	l.ticking = d
	ts := unix.NsecToTimespec(int64(d))
	unix.TimerfdSettime(l.tick, 0, &unix.ItimerSpec{Interval: ts, Value: ts}, nil)
}

func (l *loop) disarmTick() {
	if l.ticking == 0 {
		return
	}
	l.ticking = 0
	unix.TimerfdSettime(l.tick, 0, &unix.ItimerSpec{}, nil)
}

// sweep checks every open relay's time-outs.
func (l *loop) sweep() {
	var b [8]byte
	unix.Read(l.tick, b[:])
	if l.nrelays == 0 {
		l.disarmTick()
		return
	}
	l.armTick() // the config may have changed
	set := l.p.conf()
	for r := l.relays.next; r != &l.relays; {
		next := r.next
		r.timeouts(set)
		r = next
	}
}

// closeRelays ends the relays of ln (nil: every relay). Loop goroutine.
func (l *loop) closeRelays(ln *listener) {
	for r := l.relays.next; r != &l.relays; {
		next := r.next
		if ln == nil || r.ln == ln {
			r.finish(nil)
		}
		r = next
	}
}

// stop ends every relay and the loop's goroutine, and closes its
// descriptors. Listeners must have been removed.
func (l *loop) stop() {
	l.call(func() { l.closeRelays(nil) })
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	l.ep.Close()
	<-l.done
	l.mu.Lock()
	ps := l.posts // posted before stopped was set: nobody runs them now
	l.posts = nil
	l.mu.Unlock()
	for _, f := range ps {
		f()
	}
	unix.Close(l.wake)
	unix.Close(l.tick)
}
