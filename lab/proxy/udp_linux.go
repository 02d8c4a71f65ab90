package proxy

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// udpSession is one client's flow through a UDP route: a connected socket
// in the target's namespace, closed after Config.UDPIdle without traffic.
type udpSession struct {
	up   net.Conn
	last atomic.Int64 // unix nanos of the last datagram either way
}

// servePacket reads datagrams, opening a session (an upstream socket) per
// client address, and relays the answers back from each session's pump.
func (ln *listener) servePacket() {
	defer ln.wg.Done()
	pc := ln.sock.Packet
	var mu sync.Mutex
	sessions := map[string]*udpSession{}
	var pumps sync.WaitGroup
	defer func() {
		mu.Lock()
		for _, s := range sessions {
			s.up.Close()
		}
		mu.Unlock()
		pumps.Wait()
	}()
	read, release := packetReader(pc)
	for {
		buf, addr, err := read()
		n := len(buf)
		if err != nil {
			if ln.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			ln.ctr.errs.Add(1)
			time.Sleep(time.Millisecond)
			continue
		}
		key := addr.String()
		mu.Lock()
		s := sessions[key]
		mu.Unlock()
		if s == nil {
			ctx, cancel := context.WithTimeout(context.Background(), ln.p.cfg.DialTimeout)
			up, err := ln.dial(ctx, ln.target.Proto, ln.target.Addr.String())
			cancel()
			if err != nil {
				ln.ctr.errs.Add(1)
				continue
			}
			s = &udpSession{up: up}
			mu.Lock()
			sessions[key] = s
			mu.Unlock()
			ln.ctr.conns.Add(1)
			ln.ctr.active.Add(1)
			pumps.Add(1)
			go func() {
				defer pumps.Done()
				ln.pump(pc, addr, s)
				mu.Lock()
				delete(sessions, key)
				mu.Unlock()
				s.up.Close()
				ln.ctr.active.Add(-1)
			}()
		}
		s.last.Store(time.Now().UnixNano())
		_, err = s.up.Write(buf)
		release(buf)
		if err != nil {
			ln.ctr.errs.Add(1)
			continue
		}
		ln.ctr.bytesIn.Add(uint64(n))
	}
}

// datagramBufs lends 64 KiB read buffers to idle-most-of-the-time UDP
// listeners.
var datagramBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// packetReader returns how servePacket reads a datagram and gives its
// buffer back. On a netpoller socket it waits for a datagram holding no
// buffer and borrows one from a pool only for the recvfrom: a thousand idle
// UDP listeners each holding 64 KiB were 64 MiB of heap. Other sockets (the
// blocking-accept strategy's) read into a buffer of their own.
func packetReader(pc net.PacketConn) (read func() ([]byte, net.Addr, error), release func([]byte)) {
	if sc, ok := pc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			read = func() ([]byte, net.Addr, error) {
				var b *[]byte
				var n int
				var from unix.Sockaddr
				var rerr error
				err := rc.Read(func(fd uintptr) bool {
					b = datagramBufs.Get().(*[]byte)
					n, from, rerr = unix.Recvfrom(int(fd), *b, unix.MSG_DONTWAIT)
					if rerr == unix.EAGAIN || rerr == unix.EINTR {
						datagramBufs.Put(b)
						b = nil
						return false // wait in the netpoller, holding nothing
					}
					return true
				})
				if err == nil {
					err = rerr
				}
				if err != nil {
					if b != nil {
						datagramBufs.Put(b)
					}
					return nil, nil, err
				}
				return (*b)[:n], sockaddrToNet("udp", from), nil
			}
			release = func(b []byte) {
				b = b[:cap(b)]
				datagramBufs.Put(&b)
			}
			return read, release
		}
	}
	buf := make([]byte, 64<<10)
	read = func() ([]byte, net.Addr, error) {
		n, a, err := pc.ReadFrom(buf)
		return buf[:n], a, err
	}
	return read, func([]byte) {}
}

// pump relays the target's answers to the client until the session has
// been idle for UDPIdle or is closed.
func (ln *listener) pump(pc net.PacketConn, client net.Addr, s *udpSession) {
	idle := ln.p.cfg.UDPIdle
	buf := make([]byte, 64<<10)
	for {
		s.up.SetReadDeadline(time.Unix(0, s.last.Load()).Add(idle))
		n, err := s.up.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if time.Since(time.Unix(0, s.last.Load())) < idle {
					continue // traffic came in meanwhile
				}
				return
			}
			if errors.Is(err, syscall.ECONNREFUSED) {
				ln.ctr.errs.Add(1)
				continue // nothing listens at the target (yet)
			}
			return
		}
		s.last.Store(time.Now().UnixNano())
		if _, err := pc.WriteTo(buf[:n], client); err != nil {
			ln.ctr.errs.Add(1)
			continue
		}
		ln.ctr.bytesOut.Add(uint64(n))
	}
}
