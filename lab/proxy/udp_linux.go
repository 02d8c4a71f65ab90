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

// udpSessions are a UDP listener's sessions, by client address.
type udpSessions struct {
	mu    sync.Mutex
	m     map[string]*udpSession
	pumps sync.WaitGroup
}

// closeAll ends every session and waits for their pumps.
func (us *udpSessions) closeAll() {
	us.mu.Lock()
	for _, s := range us.m {
		s.up.Close()
	}
	us.mu.Unlock()
	us.pumps.Wait()
}

// servePacket reads datagrams until the listener closes (a listener the
// hub does not serve: the blocking-accept strategy's).
func (ln *listener) servePacket() {
	defer ln.wg.Done()
	read, release := packetReader(ln.sock.Packet)
	for {
		buf, addr, err := read()
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
		ln.datagram(buf, addr)
		release(buf)
	}
}

// drainPackets reads the datagrams the hub saw waiting, without waiting
// for more, then arms the listener again.
func (ln *listener) drainPackets() {
	defer ln.wg.Done()
	for {
		b, n, from, err := recvDatagram(ln.hubRC, false)
		if err != nil {
			switch {
			case err == unix.EAGAIN:
			case ln.isClosed() || errors.Is(err, net.ErrClosed):
				return
			default:
				ln.ctr.errs.Add(1) // an ICMP error queued on the socket, say
				continue
			}
			ln.arm()
			return
		}
		ln.datagram((*b)[:n], from)
		datagramBufs.Put(b)
	}
}

// datagram forwards one datagram from addr through its session, opening
// one (an upstream socket and a pump relaying the answers) if needed.
func (ln *listener) datagram(buf []byte, addr net.Addr) {
	us := &ln.udp
	key := addr.String()
	us.mu.Lock()
	s := us.m[key]
	us.mu.Unlock()
	if s == nil {
		ctx, cancel := context.WithTimeout(context.Background(), ln.p.conf().DialTimeout)
		up, err := ln.dial(ctx, ln.tnet, ln.taddr.String())
		cancel()
		if err != nil {
			ln.ctr.errs.Add(1)
			return
		}
		// Its idle clock starts now, before its pump first looks at it
		// (a pump that found no datagram yet ended the session at once).
		s = &udpSession{up: up}
		s.last.Store(time.Now().UnixNano())
		us.mu.Lock()
		if us.m == nil {
			us.m = map[string]*udpSession{}
		}
		us.m[key] = s
		us.pumps.Add(1)
		us.mu.Unlock()
		ln.ctr.opened()
		ln.ctr.active.Add(1)
		go func() {
			defer us.pumps.Done()
			ln.pump(addr, s)
			us.mu.Lock()
			delete(us.m, key)
			us.mu.Unlock()
			s.up.Close()
			ln.ctr.active.Add(-1)
		}()
	}
	s.last.Store(time.Now().UnixNano())
	if _, err := s.up.Write(buf); err != nil {
		ln.ctr.errs.Add(1)
		return
	}
	ln.ctr.bytesIn.Add(uint64(len(buf)))
}

// datagramBufs lends 64 KiB read buffers to idle-most-of-the-time UDP
// listeners.
var datagramBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// recvDatagram reads one datagram into a buffer borrowed from
// datagramBufs, holding none while it waits in the netpoller. Without wait
// it returns unix.EAGAIN at once if nothing is there.
func recvDatagram(rc syscall.RawConn, wait bool) (*[]byte, int, net.Addr, error) {
	var b *[]byte
	var n int
	var from unix.Sockaddr
	var rerr error
	err := rc.Read(func(fd uintptr) bool {
		b = datagramBufs.Get().(*[]byte)
		for {
			n, from, rerr = unix.Recvfrom(int(fd), *b, unix.MSG_DONTWAIT)
			if rerr != unix.EINTR {
				break
			}
		}
		if rerr == unix.EAGAIN {
			datagramBufs.Put(b)
			b = nil
			return !wait // waiting, it holds nothing
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
		return nil, 0, nil, err
	}
	return b, n, sockaddrToNet("udp", from), nil
}

// packetReader returns how servePacket reads a datagram and gives its
// buffer back. On a netpoller socket it waits for a datagram holding no
// buffer and borrows one from a pool only for the recvfrom: a thousand idle
// UDP listeners each holding 64 KiB were 64 MiB of heap. Other sockets (the
// blocking-accept strategy's) read into a buffer of their own.
func packetReader(pc net.PacketConn) (read func() ([]byte, net.Addr, error), release func([]byte)) {
	if sc, ok := pc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			read = func() ([]byte, net.Addr, error) {
				b, n, from, err := recvDatagram(rc, true)
				if err != nil {
					return nil, nil, err
				}
				return (*b)[:n], from, nil
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
func (ln *listener) pump(client net.Addr, s *udpSession) {
	idle := ln.p.conf().UDPIdle
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
		if err := ln.reply(buf[:n], client); err != nil {
			ln.ctr.errs.Add(1)
			continue
		}
		ln.ctr.bytesOut.Add(uint64(n))
	}
}

// reply sends an answer from the listener's socket back to its client.
func (ln *listener) reply(b []byte, client net.Addr) error {
	if ln.raw != nil {
		return ln.raw.sendTo(b, client)
	}
	_, err := ln.sock.Packet.WriteTo(b, client)
	return err
}
