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
	buf := make([]byte, 64<<10)
	for {
		n, addr, err := pc.ReadFrom(buf)
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
		if _, err := s.up.Write(buf[:n]); err != nil {
			ln.ctr.errs.Add(1)
			continue
		}
		ln.ctr.bytesIn.Add(uint64(n))
	}
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
