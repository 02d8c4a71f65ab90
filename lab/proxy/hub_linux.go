package proxy

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// hub waits for every netpoller listener of a proxy with one goroutine.
//
// A goroutine parked in Accept or ReadFrom per listener is the plain way,
// but each costs at least a 2 KiB stack and a goroutine record: with 1000
// tenants × (TCP + UDP), 2000 of them were 4.7 MiB of a worker's 12.5 MiB
// of its own memory. Instead the hub keeps an epoll instance of its own,
// with every listener in it, and puts that instance into the Go netpoller
// like any other descriptor (an epoll fd is readable while any of its
// members is ready). One goroutine parks there. When a listener is ready
// it starts a goroutine to accept the connection or read the datagrams,
// which ends when the listener has nothing more.
//
// Members are EPOLLONESHOT: a ready listener is reported once, and armed
// again by the goroutine serving it once it has taken what was there, so
// the hub never starts two for one listener.
type hub struct {
	ep *os.File // the epoll instance, registered in the netpoller
	rc syscall.RawConn

	mu     sync.Mutex
	lns    map[int32]*listener
	next   int32
	closed bool
	done   chan struct{}
}

func newHub() (*hub, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	// Non-blocking, so that os.NewFile hands it to the netpoller.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("epoll instance: %w", err)
	}
	ep := os.NewFile(uintptr(fd), "nslab-proxy-hub")
	rc, err := ep.SyscallConn()
	if err != nil {
		ep.Close()
		return nil, err
	}
	h := &hub{ep: ep, rc: rc, lns: map[int32]*listener{}, done: make(chan struct{})}
	go h.run()
	return h, nil
}

// run waits in the netpoller until a member is ready, and serves it.
func (h *hub) run() {
	defer close(h.done)
	events := make([]unix.EpollEvent, 128)
	var ready []*listener
	for {
		n := 0
		err := h.rc.Read(func(fd uintptr) bool {
			var err error
			n, err = unix.EpollWait(int(fd), events, 0)
			return err == nil && n > 0 // nothing yet: park until the instance is readable
		})
		if err != nil {
			return // closed
		}
		ready = ready[:0]
		h.mu.Lock()
		for _, ev := range events[:n] {
			if ln := h.lns[ev.Fd]; ln != nil {
				ready = append(ready, ln)
			}
		}
		h.mu.Unlock()
		for _, ln := range ready {
			ln.fire()
		}
	}
}

// add makes ln a member, armed.
func (h *hub) add(ln *listener, rc syscall.RawConn) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return errors.New("proxy is closing")
	}
	h.next++
	id := h.next
	// Set before the listener is armed: the hub goroutine reads them once
	// it finds ln in lns (under mu).
	ln.hub, ln.hubID, ln.hubRC = h, id, rc
	h.lns[id] = ln
	h.mu.Unlock()
	if err := h.ctl(unix.EPOLL_CTL_ADD, ln); err != nil {
		h.mu.Lock()
		delete(h.lns, id)
		h.mu.Unlock()
		ln.hub = nil
		return fmt.Errorf("epoll_ctl add: %w", err)
	}
	return nil
}

// arm asks for ln's next readiness (it was reported, and disarmed).
func (h *hub) arm(ln *listener) error { return h.ctl(unix.EPOLL_CTL_MOD, ln) }

// remove takes ln out, before its socket closes.
func (h *hub) remove(ln *listener) {
	h.ctl(unix.EPOLL_CTL_DEL, ln)
	h.mu.Lock()
	delete(h.lns, ln.hubID)
	h.mu.Unlock()
}

func (h *hub) ctl(op int, ln *listener) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: ln.hubID}
	var err error
	cerr := h.rc.Control(func(efd uintptr) {
		if cerr := ln.hubRC.Control(func(fd uintptr) {
			err = unix.EpollCtl(int(efd), op, int(fd), &ev)
		}); cerr != nil {
			err = cerr
		}
	})
	if cerr != nil {
		return cerr
	}
	return err
}

// close stops the hub; its members must have been removed.
func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.ep.Close()
	<-h.done
}
