package proxy

import (
	"errors"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// relay is one proxied TCP connection in a loop: the client's socket (c),
// the upstream socket (u), and the bytes on their way each direction.
// Everything about it runs on its loop's goroutine.
//
// A direction reads from one end into the loop's buffer and writes it to
// the other at once; only what the other end does not take (its send
// buffer full) is kept, in a buffer of its own, while that end's
// writability is awaited and the reading end is left unread. A read that
// fills the loop's buffer marks a bulk transfer: from then on that
// direction splices through a pipe, and the bytes never enter user space.
// An idle connection holds its two sockets and nothing else.
//
// Both sockets are in the loop's set once, edge-triggered, for reading
// and writing, and never changed: the relay remembers what each end last
// said (readable, writable) and acts on it. A short read means the socket
// was emptied (the kernel gives all it has), so nothing reads until
// EAGAIN; a relay that stops with more to read (to let other connections
// have the loop) goes on the loop's run queue.
//
// EOF on one side is passed on as a half-close of the other (shutdown
// SHUT_WR), once everything before it was written; when both directions
// are done, both sockets are closed.
type relay struct {
	ln         *listener
	l          *loop
	c, u       end
	up, down   dir // up: client to upstream; down: upstream to client
	connecting bool
	closed     bool
	queued     bool  // on the loop's run queue
	since      int64 // connect started (dial time-out)
	finAt      int64 // one side finished: the other must by then (0: not yet)
	last       int64 // bytes last moved (idle time-out)
	prev, next *relay
}

type end struct {
	r        *relay
	fd       int
	tok      uint64 // in the loop's set while non-zero
	readable bool   // may have bytes (or EOF) to read
	writable bool   // may take bytes
	rdhup    bool   // the peer has finished sending: its EOF waits behind the bytes
	hup      bool   // the kernel said error or hang-up
	rd       *dir   // the direction reading from this end
	wr       *dir   // the direction writing to it
}

type dir struct {
	from, to *end
	buf      *[]byte // what to's buffer did not take: (*buf)[off:n]
	off, n   int
	pipe     *pipe
	inPipe   int            // bytes in pipe, not yet written to to
	bulk     bool           // splice from now on
	eof      bool           // from has reached its end
	shut     bool           // to was half-closed
	ctr      *atomic.Uint64 // the route's bytes this way
}

func (d *dir) pending() bool { return d.n > d.off || d.inPipe > 0 }
func (d *dir) done() bool    { return d.eof && !d.pending() }

// stashBufs keep what an end's send buffer did not take, only while it
// waits: most writes are taken whole.
var stashBufs = sync.Pool{New: func() any { b := make([]byte, loopBuf); return &b }}

// endEvents is what a relay's sockets are registered for, once.
const endEvents = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET

// startRelay connects a freshly accepted client cfd upstream, from inside
// the target's namespace, and starts relaying. On failure it closes cfd
// and gives back the client's slots.
func startRelay(l *loop, ln *listener, cfd int) {
	ufd, done, err := -1, false, errTargetGone
	if ent := ln.target(); ent != nil {
		ufd, done, err = ent.startConnect(ln.tnet, ln.taddr)
	}
	if err != nil {
		// Counted before the client can see its connection close: a
		// client that reads the stats when its request failed finds the
		// error there.
		ln.ctr.errs.Add(1)
		rawClose(cfd)
		ln.live.Add(-1)
		ln.p.leave(ln.gate)
		ln.p.log.Debug("dial upstream", "route", ln.route.Name, "tenant", ln.tenant, "err", err)
		return
	}
	// Nagle off upstream, as net.Dial does (the client's socket has it off
	// from its listener).
	rawSetsockoptInt(ufd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	r := &relay{ln: ln, l: l, since: l.now, last: l.now}
	r.c = end{r: r, fd: cfd, rd: &r.up, wr: &r.down}
	r.u = end{r: r, fd: ufd, rd: &r.down, wr: &r.up}
	r.up = dir{from: &r.c, to: &r.u, ctr: &ln.ctr.bytesIn}
	r.down = dir{from: &r.u, to: &r.c, ctr: &ln.ctr.bytesOut}
	ln.ctr.active.Add(1)
	l.link(r)
	r.connecting = !done
	if err := l.register(&r.u); err != nil {
		r.finish(err)
		return
	}
	if done {
		r.established()
	}
}

// established starts moving bytes: the client's socket joins the set
// (what it already sent is reported at once).
func (r *relay) established() {
	r.connecting = false
	r.u.writable = true
	if h := testConnHook.Load(); h != nil {
		var ino uint64
		if t := r.ln.target(); t != nil {
			ino = t.ino
		}
		(*h)(r.ln.key.Inode, ino, r.c.fd, r.u.fd)
	}
	r.c.writable = true
	if err := r.l.register(&r.c); err != nil {
		r.finish(err)
	}
}

// finishConnect reads the outcome of a connect that was in progress.
func (r *relay) finishConnect(ev uint32) {
	v, err := unix.GetsockoptInt(r.u.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && v != 0 {
		err = unix.Errno(v)
	}
	switch {
	case err != nil:
		r.finish(err)
	case ev&unix.EPOLLOUT != 0:
		r.established()
	}
}

// ready takes an event of one end into account and moves what can move.
func (r *relay) ready(e *end, ev uint32) {
	if r.closed {
		return
	}
	if r.connecting {
		r.finishConnect(ev)
		if r.connecting || r.closed {
			return
		}
	}
	if ev&unix.EPOLLOUT != 0 {
		e.writable = true
	}
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		e.readable = true
	}
	if ev&(unix.EPOLLRDHUP|unix.EPOLLHUP) != 0 {
		e.rdhup = true
	}
	if ev&(unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		e.hup = true
	}
	r.run()
}

// pumpsPerTurn bounds the reads one relay makes before the loop's other
// connections get their turn.
const pumpsPerTurn = 8

// run moves bytes both ways until nothing more can move now, or its turn
// is over (then it queues itself on the loop to go on).
func (r *relay) run() {
	for turn := 0; turn < pumpsPerTurn; turn++ {
		moved := false
		for _, d := range []*dir{&r.up, &r.down} {
			if d.pending() && d.to.writable {
				if !r.flush(d) {
					return
				}
				moved = true
			}
			if !d.eof && !d.pending() && d.from.readable {
				if !r.pump(d) {
					return
				}
				moved = true
			}
		}
		if !moved {
			// An error or hang-up that no read or write turned up (the
			// end was done reading, or waiting): a reset ends the relay;
			// a clean hang-up (both halves closed) is EOF's business.
			for _, e := range []*end{&r.c, &r.u} {
				if e.hup {
					e.hup = false
					if err := soError(e.fd); err != nil {
						r.finish(err)
						return
					}
				}
			}
			return
		}
	}
	r.l.later(r)
}

// pump reads what from has and writes it to to. False: the relay ended.
func (r *relay) pump(d *dir) bool {
	if d.bulk {
		return r.pumpSplice(d)
	}
	buf := r.l.buf
	n, err := rawRead(d.from.fd, buf)
	if ok, more := r.readOutcome(d, n, err); !more {
		return ok
	}
	switch {
	case n == len(buf):
		d.bulk = true
	case !d.from.rdhup:
		// The kernel gave all it had; more comes with a new edge. (Once
		// the peer has finished, its EOF is behind these bytes, and no
		// edge will say so again: read on.)
		d.from.readable = false
	}
	r.last = r.l.now
	d.ctr.Add(uint64(n))
	m, err := writeAll(d.to.fd, buf[:n])
	if err != nil && err != unix.EAGAIN {
		r.finish(err)
		return false
	}
	if m < n {
		d.to.writable = false
		d.buf = stashBufs.Get().(*[]byte)
		d.off, d.n = 0, copy(*d.buf, buf[m:n])
	}
	return true
}

// readOutcome handles what a read (or splice) from d.from that moved no
// bytes means: nothing there now, an interrupted call, an error, or EOF.
// more is true when n bytes came and the caller goes on with them; else
// ok says whether the relay still lives.
func (r *relay) readOutcome(d *dir, n int, err error) (ok, more bool) {
	switch {
	case err == unix.EAGAIN:
		d.from.readable = false
		return true, false
	case err == unix.EINTR:
		return true, false
	case err != nil:
		r.finish(err)
		return false, false
	case n == 0:
		d.from.readable = false
		return r.eof(d), false
	}
	return true, true
}

// pumpSplice moves from's bytes to to through a pipe, borrowed while
// bytes are in it.
func (r *relay) pumpSplice(d *dir) bool {
	if d.pipe == nil {
		if d.pipe = pipes.get(); d.pipe == nil { // out of fds: through memory
			d.bulk = false
			return r.pump(d)
		}
	}
	n, err := rawSplice(d.from.fd, d.pipe.w, maxSplice)
	if err == unix.EAGAIN && d.inPipe == 0 { // nothing in flight: no pipe held
		pipes.put(d.pipe)
		d.pipe = nil
	}
	if ok, more := r.readOutcome(d, n, err); !more {
		return ok
	}
	r.last = r.l.now
	d.ctr.Add(uint64(n))
	d.inPipe += n
	return r.flush(d)
}

// flush writes what waits for d.to. False: the relay ended.
func (r *relay) flush(d *dir) bool {
	for d.inPipe > 0 {
		m, err := rawSplice(d.pipe.r, d.to.fd, d.inPipe)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			d.to.writable = false
			return true
		}
		if err != nil {
			r.finish(err)
			return false
		}
		d.inPipe -= m
	}
	if d.pipe != nil && d.inPipe == 0 && !d.bulk {
		pipes.put(d.pipe)
		d.pipe = nil
	}
	if d.n > d.off {
		m, err := writeAll(d.to.fd, (*d.buf)[d.off:d.n])
		d.off += m
		if err != nil && err != unix.EAGAIN {
			r.finish(err)
			return false
		}
		if d.off < d.n {
			d.to.writable = false
			return true
		}
		stashBufs.Put(d.buf)
		d.buf, d.off, d.n = nil, 0, 0
	}
	if d.eof {
		return r.passEOF(d)
	}
	return true
}

// eof records that d.from has finished sending.
func (r *relay) eof(d *dir) bool {
	d.eof = true
	if d.pipe != nil && d.inPipe == 0 {
		pipes.put(d.pipe)
		d.pipe = nil
	}
	if fin := r.ln.p.conf().FinTimeout; fin > 0 && r.finAt == 0 {
		r.finAt = r.l.now + int64(fin)
	}
	if d.pending() {
		return true // passed on once flushed
	}
	return r.passEOF(d)
}

// passEOF half-closes d.to once everything before the EOF reached it; if
// the other direction is done too, the relay ends.
func (r *relay) passEOF(d *dir) bool {
	o := &r.up
	if d == &r.up {
		o = &r.down
	}
	if o.done() {
		r.finish(nil)
		return false
	}
	if !d.shut {
		d.shut = true
		if err := rawShutdown(d.to.fd, unix.SHUT_WR); err != nil && err != unix.ENOTCONN {
			r.finish(err)
			return false
		}
	}
	return true
}

// timeouts ends a relay whose connect, half-close or idleness lasted too
// long. Called by the loop's sweep.
func (r *relay) timeouts(set *Config) {
	now := r.l.now
	switch {
	case r.connecting && set.DialTimeout > 0 && now-r.since > int64(set.DialTimeout):
		r.finish(unix.ETIMEDOUT)
	case r.finAt != 0 && now > r.finAt:
		r.finish(errFinTimeout)
	case set.Limits.IdleTimeout > 0 && now-r.last > int64(set.Limits.IdleTimeout):
		r.ln.ctr.limits[limitIdle].Add(1)
		r.finish(nil)
	}
}

var (
	errFinTimeout = errors.New("the other side did not finish within fin_timeout")
	errTargetGone = errors.New("the route's target namespace is gone")
)

// finish closes both sockets and gives back everything the relay held.
// err (if not nil) is counted as the connection's error.
func (r *relay) finish(err error) {
	if r.closed {
		return
	}
	r.closed = true
	for _, d := range []*dir{&r.up, &r.down} {
		if d.buf != nil {
			stashBufs.Put(d.buf)
			d.buf = nil
		}
		if d.pipe != nil {
			if d.inPipe > 0 {
				d.pipe.close() // it holds bytes nobody will read
			} else {
				pipes.put(d.pipe)
			}
			d.pipe = nil
		}
	}
	r.l.forget(&r.c)
	r.l.forget(&r.u)
	rawClose(r.c.fd)
	rawClose(r.u.fd)
	r.l.unlink(r)
	ln := r.ln
	ln.live.Add(-1)
	if err != nil {
		ln.ctr.errs.Add(1)
		ln.p.log.Debug("connection ended", "route", ln.route.Name, "tenant", ln.tenant, "err", err)
	}
	ln.ctr.active.Add(-1)
	ln.p.leave(ln.gate)
}

// writeAll writes b to a non-blocking fd until done or EAGAIN, and says
// how much went.
func writeAll(fd int, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := rawWrite(fd, b[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}

// soError is the socket's pending error, if any.
func soError(fd int) error {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err
	}
	if v != 0 {
		return unix.Errno(v)
	}
	return nil
}

// testConnHook, when a test sets it, sees every relay as it starts: the
// listener's namespace, the one the upstream socket was made for, and
// both descriptors (valid only during the call).
var testConnHook atomic.Pointer[func(listenIno, targetIno uint64, client, upstream int)]
