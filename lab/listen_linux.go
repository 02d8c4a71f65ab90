package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// literalAddr checks that addr is HOST:PORT with an IP literal (or empty)
// host. Inside the namespace switch nothing may start a goroutine or read
// files of another mount namespace, and a name lookup does both.
func literalAddr(network, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s address %q: %w: want IP:PORT, like 127.0.0.1:8080 or [::1]:8080", network, addr, ErrInvalid)
	}
	if host == "" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return fmt.Errorf("%s address %q: %q is not an IP literal: %w: inside another namespace the lab uses IP addresses only (a name lookup would run on another thread, in the wrong namespace); resolve it first", network, addr, host, ErrInvalid)
	}
	return nil
}

// Socket is one socket for BindIn to make: a listener for stream networks
// (tcp, tcp4, tcp6, sctp, sctp4, sctp6) or a datagram socket for udp, udp4
// and udp6. BindIn fills in Listener or Packet.
type Socket struct {
	Network string
	Addr    string // IP:PORT with an IP literal; ":8080" means every address
	// KeepAlive is TCP keep-alive for accepted connections, as in
	// net.ListenConfig: 0 is Go's default (15 s), negative turns it off.
	KeepAlive time.Duration
	// Raw asks for a bare non-blocking socket that the Go netpoller does
	// not know: FD returns it, Listener and Packet stay nil. It is for a
	// caller that waits on many sockets with an epoll set of its own (the
	// proxy's hub) and accepts or reads by hand. Go's Listen registers
	// every socket with the netpoller and asks for its address back; for
	// 2000 listeners that was a quarter of the time spent binding them.
	// Where the raw path does not apply (SCTP, an address without an IP
	// literal, a zone) the socket is made the usual way and FD is -1.
	Raw bool

	Listener net.Listener
	Packet   net.PacketConn
	fd1      int // a raw socket's fd + 1 (0: none)
}

// FD is the raw socket's descriptor, or -1 if the socket is not raw. It
// stays the Socket's: Close closes it.
func (s *Socket) FD() int { return s.fd1 - 1 }

// Stream reports whether the socket is a listener (tcp, sctp) rather than a
// datagram socket (udp).
func (s *Socket) Stream() bool {
	typ, _, _ := socketKind(s.Network)
	return typ == unix.SOCK_STREAM
}

// Close closes whichever socket BindIn made.
func (s *Socket) Close() error {
	switch {
	case s.fd1 > 0:
		fd := s.fd1 - 1
		s.fd1 = 0
		return unix.Close(fd)
	case s.Listener != nil:
		return s.Listener.Close()
	case s.Packet != nil:
		return s.Packet.Close()
	}
	return nil
}

// lc listens with plain TCP: Go 1.24+ would listen with MPTCP where the
// kernel allows, which ss -t, SIOCGSKNS readers and the lessons do not
// expect. A background context starts no goroutine.
var lc = func() net.ListenConfig {
	var c net.ListenConfig
	c.SetMultipathTCP(false)
	return c
}()

// BindIn makes every socket of socks inside ns (nil: the current namespace)
// with a single namespace switch: one switch costs about as much as a
// socket, so a tenant's sockets are bound together. Either every socket is
// made or none: on error the ones already made are closed and the error
// names the one that failed. The calling goroutine is never moved; the work
// runs on a fresh locked thread that returns to its namespace (see Do).
func BindIn(ns *Netns, socks []Socket) error {
	for i := range socks {
		s := &socks[i]
		if _, _, err := socketKind(s.Network); err != nil {
			return fmt.Errorf("listen %s: %w", s.Addr, err)
		}
		if err := literalAddr(s.Network, s.Addr); err != nil {
			return err
		}
	}
	raw := make([]int, len(socks)) // SCTP fds, wrapped outside the switch
	for i := range raw {
		raw[i] = -1
	}
	failed := -1
	err := Do(ns, func() error {
		for i := range socks {
			if err := bindOne(&socks[i], &raw[i]); err != nil {
				failed = i
				return err
			}
		}
		return nil
	})
	if err == nil {
		for i, fd := range raw {
			if fd < 0 {
				continue
			}
			l, werr := newRawListener(fd, socks[i].Network)
			raw[i] = -1
			if werr != nil {
				err, failed = werr, i
				break
			}
			socks[i].Listener = l
		}
	}
	if err != nil {
		for i := range socks {
			socks[i].Close()
			socks[i].Listener, socks[i].Packet = nil, nil
			if raw[i] >= 0 {
				unix.Close(raw[i])
			}
		}
		var re *RestoreError
		if failed < 0 || errors.As(err, &re) {
			return fmt.Errorf("bind %d socket(s) in %s: %w", len(socks), ns, err)
		}
		s := socks[failed]
		err = errnoKind(unwrapSyscall(err))
		if _, proto, _ := socketKind(s.Network); proto == unix.IPPROTO_SCTP && errors.Is(err, ErrUnsupported) {
			return fmt.Errorf("listen %s %s in %s: this kernel has no SCTP: %s: %w", s.Network, s.Addr, ns, sctpWhy(unwrapSyscall(err)), err)
		}
		return fmt.Errorf("listen %s %s in %s: %w%s", s.Network, s.Addr, ns, err, hostPortHint(ns, err))
	}
	return nil
}

// hostPortHint explains a taken port in host mode, where the lab's host
// is the machine's network namespace, shared with every program and with
// every other lab running in host mode.
func hostPortHint(ns *Netns, err error) string {
	if !errors.Is(err, unix.EADDRINUSE) || ns != nil && ns.Name() != "host" {
		return ""
	}
	if _, inside := InSandbox(); inside {
		return ""
	}
	return " (in host mode the lab's host is the machine's network namespace, shared with every program and every other lab in host mode; a lab in a sandbox, `--sandbox`, has a host of its own)"
}

// bindOne makes one socket on the calling (switched) thread.
func bindOne(s *Socket, rawFD *int) error {
	typ, proto, _ := socketKind(s.Network)
	switch {
	case proto == unix.IPPROTO_SCTP:
		if err := checkFamily(s.Network, s.Addr); err != nil {
			return err
		}
		ap, _ := netip.ParseAddrPort(s.Addr)
		fd, err := rawSocket(typ, proto, ap, true, true)
		if err != nil {
			return err
		}
		*rawFD = fd
	case s.Raw && rawBindable(s.Network, s.Addr):
		fd, err := rawListenSocket(s.Network, typ, s.Addr)
		if err != nil {
			return err
		}
		s.fd1 = fd + 1
	case typ == unix.SOCK_STREAM:
		addr, err := numericZone(s.Addr)
		if err != nil {
			return err
		}
		c := lc
		c.KeepAlive = s.KeepAlive
		l, err := c.Listen(context.Background(), s.Network, addr)
		if err != nil {
			return err
		}
		s.Listener = l
	default:
		addr, err := numericZone(s.Addr)
		if err != nil {
			return err
		}
		c, err := lc.ListenPacket(context.Background(), s.Network, addr)
		if err != nil {
			return err
		}
		s.Packet = c
	}
	return nil
}

// ListenIn creates a stream listener inside namespace ns (nil: the current
// one). The socket lives in ns for life; the thread that made it goes back to
// its own namespace, and the listener is served by the Go netpoller like any
// other. network is tcp, tcp4, tcp6, or sctp, sctp4, sctp6 (see
// ListenSCTPIn).
func ListenIn(ns *Netns, network, addr string) (net.Listener, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	case "sctp", "sctp4", "sctp6":
		return ListenSCTPIn(ns, network, addr)
	default:
		return nil, fmt.Errorf("listen %s: unknown network %q: %w: use tcp, udp or sctp", addr, network, ErrInvalid)
	}
	sk, err := bindSocket(ns, network, addr)
	return sk.Listener, err
}

// ListenPacketIn creates a datagram socket (udp, udp4, udp6) inside ns.
func ListenPacketIn(ns *Netns, network, addr string) (net.PacketConn, error) {
	switch network {
	case "udp", "udp4", "udp6":
	default:
		return nil, fmt.Errorf("listen %s: unknown packet network %q: %w: use udp, udp4 or udp6", addr, network, ErrInvalid)
	}
	sk, err := bindSocket(ns, network, addr)
	return sk.Packet, err
}

// bindSocket is BindIn for one socket; on error its Listener and Packet
// are nil.
func bindSocket(ns *Netns, network, addr string) (Socket, error) {
	socks := []Socket{{Network: network, Addr: addr}}
	err := BindIn(ns, socks)
	return socks[0], err
}

// DialIn connects from inside ns to addr (an IP literal and port) over tcp,
// udp or sctp. The connection's socket lives in ns; the connect waits on the
// netpoller, not on a thread inside ns (see Dialer).
func DialIn(ns *Netns, network, addr string, timeout time.Duration) (net.Conn, error) {
	if host, _, _ := net.SplitHostPort(addr); host == "" {
		return nil, fmt.Errorf("dial %s %q: %w: give the IP to connect to", network, addr, ErrInvalid)
	}
	d := Dialer{Netns: ns, Timeout: timeout}
	return d.Dial(network, addr)
}

// ReserveFDs prepares this process to hold n more file descriptors: it
// raises the soft RLIMIT_NOFILE to the hard limit and grows the kernel's fd
// table once, now, to fit them. Growing it later, one doubling at a time
// while many threads run, waits each time for an RCU grace period (10–35 ms
// at 256, 512, 1024, 2048 fds): binding 1000 namespaces went from 94 ms to
// 38 ms with the table grown up front. It returns the new soft limit.
func ReserveFDs(n int) (int, error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("read RLIMIT_NOFILE: %w", err)
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
			return 0, fmt.Errorf("raise RLIMIT_NOFILE to %d: %w", rl.Max, err)
		}
	}
	limit := int(min(rl.Cur, 1<<30))
	need := openFDs() + n + 16
	if need > limit {
		// Past the hard limit too: a process with CAP_SYS_RESOURCE (root)
		// may raise that, up to fs.nr_open. The proxy does for 10 000
		// tenants (a namespace handle and a listener each: 20 000 fds,
		// this machine's default hard limit).
		// As much again for the connections those will carry.
		want := uint64(2 * need)
		if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
			if most, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil {
				want = min(want, most)
			}
		}
		up := unix.Rlimit{Cur: want, Max: max(rl.Max, want)}
		if want < uint64(need) || unix.Setrlimit(unix.RLIMIT_NOFILE, &up) != nil {
			return limit, fmt.Errorf("need %d file descriptors, RLIMIT_NOFILE allows %d: %w: raise it (ulimit -n, LimitNOFILE=)", need, limit, ErrUnsupported)
		}
		limit = int(want)
	}
	// dup onto the highest slot we will need, then free it: the table
	// grows to fit it and never shrinks.
	hi, err := unix.FcntlInt(0, unix.F_DUPFD_CLOEXEC, need-1)
	if err != nil {
		// fd 0 may be closed; any fd does.
		f, ferr := os.Open("/dev/null")
		if ferr != nil {
			return limit, nil
		}
		defer f.Close()
		if hi, err = unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, need-1); err != nil {
			return limit, nil
		}
	}
	unix.Close(hi)
	return limit, nil
}

// openFDs counts this process's open file descriptors.
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(ents)
}

// Bind is one namespace's share of a BindEach: its sockets, and what went
// wrong there.
type Bind struct {
	Netns *Netns
	Socks []Socket
	Err   error // set when this namespace's sockets could not all be made
}

// BindEach makes the sockets of many namespaces on one locked thread: it
// reads the thread's own namespace once, enters each namespace in turn
// (one setns each), binds there, and returns to its own at the end. That is
// a third of what a Do per namespace costs (one readlink and two setns
// each), which is what binding a thousand tenants is made of. A namespace
// whose sockets fail gets its Err and none of its sockets; the others are
// unaffected. If the thread cannot return, it is discarded, every socket is
// closed and a *RestoreError is returned. Nothing inside starts a goroutine.
func BindEach(binds []Bind) error {
	for i := range binds {
		for j := range binds[i].Socks {
			s := &binds[i].Socks[j]
			if _, _, err := socketKind(s.Network); err != nil {
				return fmt.Errorf("listen %s: %w", s.Addr, err)
			}
			if err := literalAddr(s.Network, s.Addr); err != nil {
				return err
			}
		}
	}
	raws := make([][]int, len(binds))
	for i := range binds {
		raws[i] = make([]int, len(binds[i].Socks))
		for j := range raws[i] {
			raws[i][j] = -1
		}
	}
	closeOne := func(i int) {
		for j := range binds[i].Socks {
			binds[i].Socks[j].Close()
			binds[i].Socks[j].Listener, binds[i].Socks[j].Packet = nil, nil
			if raws[i][j] >= 0 {
				unix.Close(raws[i][j])
				raws[i][j] = -1
			}
		}
	}
	visit := func(lo, hi int) error {
		// A nil Netns is the caller's namespace: the thread's own, which it
		// has left if an earlier entry took it elsewhere. Opened after the
		// lock, before the first switch.
		home := -1
		defer func() {
			if home >= 0 {
				unix.Close(home)
			}
		}()
		openHome := func() error {
			for i := lo; i < hi; i++ {
				if binds[i].Netns == nil {
					fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
					if err != nil {
						return fmt.Errorf("open this thread's network namespace: %w", err)
					}
					home = fd
					return nil
				}
			}
			return nil
		}
		return switchRun("each of several namespaces", openHome, func() error {
			for i := lo; i < hi; i++ {
				b := &binds[i]
				var err error
				if b.Netns != nil {
					err = b.Netns.Enter()
				} else if serr := unix.Setns(home, unix.CLONE_NEWNET); serr != nil {
					err = fmt.Errorf("enter network namespace %s: %w", b.Netns, errnoKind(serr))
				}
				if err != nil {
					b.Err = err
					continue
				}
				for j := range b.Socks {
					if err := bindOne(&b.Socks[j], &raws[i][j]); err != nil {
						s := b.Socks[j]
						b.Err = fmt.Errorf("listen %s %s in %s: %w", s.Network, s.Addr, b.Netns, errnoKind(unwrapSyscall(err)))
						closeOne(i)
						break
					}
				}
			}
			return nil
		})
	}
	// One thread per CPU, each visiting its share of the namespaces: the
	// sockets of different namespaces share no kernel lock but the fd
	// table's, and 1000 namespaces × 2 sockets took 38 ms on one thread.
	parts := min(runtime.GOMAXPROCS(0), max(1, len(binds)/64))
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for k := range parts {
		lo, hi := k*len(binds)/parts, (k+1)*len(binds)/parts
		wg.Add(1)
		go func() { defer wg.Done(); errs[k] = visit(lo, hi) }()
	}
	wg.Wait()
	err := errors.Join(errs...)
	if err != nil {
		for i := range binds {
			closeOne(i)
		}
		return fmt.Errorf("bind in %d namespaces: %w", len(binds), err)
	}
	for i := range binds {
		for j, fd := range raws[i] {
			if fd < 0 {
				continue
			}
			l, werr := newRawListener(fd, binds[i].Socks[j].Network)
			raws[i][j] = -1
			if werr != nil {
				binds[i].Err = werr
				closeOne(i)
				break
			}
			binds[i].Socks[j].Listener = l
		}
	}
	return nil
}
