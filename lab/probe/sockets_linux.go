package probe

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A socket's network namespace is asked of the socket itself. For another
// process, each socket descriptor is first found by its /proc/PID/fd link
// ("socket:[INODE]": files, pipes and devices are never touched), copied
// into this process with pidfd_getfd, asked, and closed. For this process
// the descriptor is asked directly.
//
// Asking: SO_NETNS_COOKIE (one cheap getsockopt, Linux 5.14+) names the
// namespace uniquely for the life of the boot; the first socket seen with a
// cookie pays for ioctl(SIOCGSKNS), which opens the namespace, and fstat,
// which gives its inode. The cookie→inode pair never changes, so it is
// remembered: 2000 sockets in 1000 namespaces cost 1000 ioctls once, then
// none. Without cookies every socket gets its ioctl.

const (
	soNetnsCookie = unix.SO_NETNS_COOKIE // 71
	siocgskns     = unix.SIOCGSKNS       // 0x894c
	pidfdThread   = unix.O_EXCL          // PIDFD_THREAD, Linux 6.9+
)

var cookies = struct {
	sync.Mutex
	ino map[uint64]uint64
}{ino: map[uint64]uint64{}}

// maxCookies bounds the cache; a lab that churns through more namespaces
// than this simply starts over.
const maxCookies = 1 << 16

func (r *reader) openPidfd() {
	r.pidfd = -1
	if r.self {
		return
	}
	fd, err := unix.PidfdOpen(r.s.PID, 0)
	if err == unix.EINVAL { // a thread ID, not a process: Linux 6.9+ takes it
		fd, err = unix.PidfdOpen(r.s.PID, pidfdThread)
	}
	if err != nil {
		r.s.fail("sockets", r.pidfdErr("pidfd_open", "5.3", err))
		return
	}
	r.pidfd = fd
}

func (r *reader) closePidfd() {
	if r.pidfd >= 0 {
		unix.Close(r.pidfd)
	}
}

func (r *reader) pidfdErr(call, version string, err error) string {
	switch err {
	case unix.ENOSYS:
		return fmt.Sprintf("%s is not supported by this kernel (Linux %s+ needed): socket namespaces of other processes cannot be read", call, version)
	case unix.EPERM, unix.EACCES:
		return call + ": " + permissionDenied()
	}
	return fmt.Sprintf("%s: %s", call, r.explain(err))
}

// pidfdGetfd is replaced by tests to play an old kernel.
var pidfdGetfd = unix.PidfdGetfd

// sockets lists the socket descriptors and counts all descriptors. The
// descriptors are listed first, then asked by up to GOMAXPROCS workers at
// once: the cost is almost all syscalls, and a 2000-socket process takes
// half the time on two cores.
func (r *reader) sockets() {
	if r.sockAge > 0 && !r.self {
		// The size of /proc/PID/fd is the number of descriptors (Linux
		// 6.2+): the same number, and the last read is recent enough.
		var st unix.Stat_t
		if fstatat(r.pd, pathFd, &st) == nil && st.Size > 0 {
			if socks, ok := recent.get(r.s, int(st.Size), r.sockAge); ok {
				r.s.FDs, r.s.Sockets = int(st.Size), socks
				return
			}
		}
	}
	dir, err := openat(r.pd, pathFd, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		r.fieldErr("fds", err)
		r.fieldErr("sockets", err)
		return
	}
	defer unix.Close(dir)
	fds := make([]int32, 0, 64)
	err = eachEntry(dir, func(name []byte) bool {
		if fd, ok := atoi(name); ok && !(r.self && (fd == r.pd || fd == dir)) {
			fds = append(fds, int32(fd))
		}
		return true
	})
	if err != nil {
		r.fieldErr("fds", err)
		r.fieldErr("sockets", err)
		return
	}
	r.s.FDs = len(fds)

	found := make([]Socket, len(fds))
	ok := make([]bool, len(fds))
	r.getfdOK.Store(r.pidfd >= 0)
	workers := min(r.workers(), 1+len(fds)/128)
	if workers <= 1 {
		r.askRange(dir, fds, found, ok)
	} else {
		var wg sync.WaitGroup
		per := (len(fds) + workers - 1) / workers
		for lo := 0; lo < len(fds); lo += per {
			hi := min(lo+per, len(fds))
			wg.Go(func() { r.askRange(dir, fds[lo:hi], found[lo:hi], ok[lo:hi]) })
		}
		wg.Wait()
	}
	n := 0
	for i := range found {
		if ok[i] {
			n++
		}
	}
	if r.listFailed {
		return // see askRange
	}
	r.s.Sockets = make([]Socket, 0, n)
	for i := range found {
		if ok[i] {
			r.s.Sockets = append(r.s.Sockets, found[i])
		}
	}
	if r.sockAge > 0 && !r.self && r.s.Errors["sockets"] == "" {
		recent.put(r.s, len(fds), r.s.Sockets)
	}
}

// recent is each process's sockets at its last snapshot, with the number
// of descriptors it had then (Options.SocketsMaxAge).
var recent = lastRead[Socket]{m: map[int]readAt[Socket]{}}

// known remembers, by socket inode, what never changes in a socket's life
// once it is bound: its network namespace, protocol and local address
// (and, for a listener, its state). A descriptor whose /proc link names a
// socket seen before is then filled from here: one readlink, instead of
// copying it and asking it six questions. (A socket inode is not reused
// while the socket lives.) Sockets whose answers could still change — a
// TCP connection's state, an unbound socket's address — are asked every
// time.
var known = sockCache{m: map[uint64]Socket{}}

type sockCache struct {
	mu sync.Mutex
	m  map[uint64]Socket
}

// maxKnown bounds the cache; a lab that churns through more sockets than
// this starts over.
const maxKnown = 1 << 16

func (c *sockCache) get(ino uint64, k *Socket) bool {
	if ino == 0 {
		return false
	}
	c.mu.Lock()
	v, ok := c.m[ino]
	c.mu.Unlock()
	if ok {
		fd := k.FD
		*k = v
		k.FD = fd
	}
	return ok
}

func (c *sockCache) put(k *Socket) {
	if !settled(k) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxKnown {
		clear(c.m)
	}
	c.m[k.Inode] = *k
}

func (c *sockCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

// settled reports whether nothing the probe reads of k can change before
// the socket is closed: a listener; a bound UDP socket; a netlink socket
// with its port id.
func settled(k *Socket) bool {
	if k.Err != "" || k.NetNS == 0 || k.Inode == 0 {
		return false
	}
	if k.State == "LISTEN" {
		return true
	}
	switch {
	case strings.HasPrefix(k.Proto, "udp"):
		return k.Local != "" && !strings.HasSuffix(k.Local, ":0")
	case k.Proto == "netlink":
		return k.Local != "" && k.Local != "portid 0"
	}
	return false
}

// askRange asks each descriptor in fds, setting found[i] and ok[i] for
// sockets. It may run on several goroutines at once.
func (r *reader) askRange(dir int, fds []int32, found []Socket, ok []bool) {
	var name [16]byte
	var link [64]byte
	for i, fd32 := range fds {
		fd := int(fd32)
		k := &found[i]
		k.FD = fd
		if r.self {
			var st unix.Stat_t
			if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
				continue
			}
			ok[i] = true
			if !known.get(st.Ino, k) {
				askSocket(fd, k, true)
				known.put(k)
			}
			continue
		}
		m, err := readlinkat(dir, append(strconv.AppendInt(name[:0], int64(fd), 10), 0), link[:])
		if err != nil && err != unix.ENOENT {
			// Not knowing which descriptors are sockets, listing none
			// would be a wrong number: say why instead.
			r.mu.Lock()
			r.s.fail("sockets", "read /proc/PID/fd: "+r.explain(err))
			r.listFailed = true
			r.mu.Unlock()
			return
		}
		if err != nil || !bytes.HasPrefix(link[:m], []byte("socket:[")) {
			continue // closed since the listing, or not a socket
		}
		ok[i] = true
		k.Inode, _ = parseNsLink(link[:m])
		if known.get(k.Inode, k) {
			continue
		}
		if !r.getfdOK.Load() {
			k.Err = "not read (see errors: sockets)"
			continue
		}
		cp, err := pidfdGetfd(r.pidfd, fd, 0)
		switch {
		case err == unix.EBADF:
			k.Err = "closed while being read"
		case err != nil:
			r.mu.Lock()
			k.Err = r.pidfdErr("pidfd_getfd", "5.6", err)
			if err == unix.ENOSYS || err == unix.EPERM || err == unix.EACCES || err == unix.ESRCH {
				r.s.fail("sockets", k.Err)
				r.getfdOK.Store(false)
			}
			r.mu.Unlock()
		default:
			var st unix.Stat_t
			if unix.Fstat(cp, &st) == nil && st.Ino != k.Inode {
				// The descriptor was closed and reused since its link
				// was read: ask the socket it holds now.
				k.Inode = st.Ino
			}
			askSocket(cp, k, false)
			unix.Close(cp)
			known.put(k)
		}
	}
}

// askSocket fills k from the socket fd (a descriptor of this process). With
// probe set, fd may be any kind of file: it reports false, having asked
// nothing that could act on a file, if fd is not a socket.
func askSocket(fd int, k *Socket, probe bool) bool {
	cookie, err := getsockoptU64(fd, unix.SOL_SOCKET, soNetnsCookie)
	switch err {
	case nil:
	case unix.ENOTSOCK, unix.EBADF:
		return false
	default: // no cookies on this kernel (ENOPROTOOPT): ioctl every socket
		if probe {
			var st unix.Stat_t
			if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
				return false
			}
		}
		cookie = 0
	}
	if probe { // this process's own descriptor: no /proc link was read
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil {
			k.Inode = st.Ino
		}
	}
	k.NetNS, err = netnsOf(fd, cookie)
	if err != nil {
		k.Err = "network namespace: " + skErr(err)
	}
	describe(fd, k)
	return true
}

// netnsOf returns the inode of the network namespace socket fd lives in.
func netnsOf(fd int, cookie uint64) (uint64, error) {
	if cookie != 0 {
		cookies.Lock()
		ino, ok := cookies.ino[cookie]
		cookies.Unlock()
		if ok {
			return ino, nil
		}
	}
	nsfd, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), siocgskns, 0)
	if e != 0 {
		return 0, e
	}
	var st unix.Stat_t
	err := unix.Fstat(int(nsfd), &st)
	unix.Close(int(nsfd))
	if err != nil {
		return 0, err
	}
	if cookie != 0 {
		cookies.Lock()
		if len(cookies.ino) >= maxCookies {
			clear(cookies.ino)
		}
		cookies.ino[cookie] = st.Ino
		cookies.Unlock()
	}
	return st.Ino, nil
}

func skErr(err error) string {
	switch err {
	case unix.EPERM, unix.EACCES:
		return "permission denied (SIOCGSKNS needs CAP_NET_ADMIN over the socket's namespace)"
	case unix.ENOTTY, unix.EINVAL:
		return "SIOCGSKNS is not supported by this kernel (Linux 4.9+ needed)"
	}
	return err.Error()
}

// describe fills the protocol, local address and state: getsockname gives
// the family and address, SO_PROTOCOL the protocol, and TCP_INFO's first
// byte the TCP state.
func describe(fd int, k *Socket) {
	var sa unix.RawSockaddrAny
	l := uint32(unsafe.Sizeof(sa))
	if _, _, e := unix.RawSyscall(unix.SYS_GETSOCKNAME, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&l))); e != 0 {
		if k.Err == "" {
			k.Err = "getsockname: " + e.Error()
		}
		return
	}
	switch sa.Addr.Family {
	case unix.AF_INET, unix.AF_INET6:
		six := sa.Addr.Family == unix.AF_INET6
		if six {
			p := (*unix.RawSockaddrInet6)(unsafe.Pointer(&sa))
			a := netip.AddrFrom16(p.Addr)
			if p.Scope_id != 0 {
				a = a.WithZone(strconv.FormatUint(uint64(p.Scope_id), 10))
			}
			k.Local = netip.AddrPortFrom(a, ntohs(p.Port)).String()
		} else {
			p := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa))
			k.Local = netip.AddrPortFrom(netip.AddrFrom4(p.Addr), ntohs(p.Port)).String()
		}
		proto, _ := getsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PROTOCOL)
		k.Proto = inetProto(fd, proto)
		if proto == unix.IPPROTO_TCP || proto == unix.IPPROTO_MPTCP {
			var st [1]byte
			if getsockoptBytes(fd, unix.SOL_TCP, unix.TCP_INFO, st[:]) == nil {
				k.State = tcpState(st[0])
			}
		}
		if six {
			k.Proto += "6"
		}
	case unix.AF_UNIX:
		k.Proto = "unix"
		p := (*unix.RawSockaddrUnix)(unsafe.Pointer(&sa))
		n := int(l) - 2 // minus sun_family
		if n > 0 {
			path := unsafe.Slice((*byte)(unsafe.Pointer(&p.Path[0])), n)
			if path[0] == 0 {
				k.Local = "@" + string(path[1:])
			} else {
				if i := indexByte(path, 0); i >= 0 {
					path = path[:i]
				}
				k.Local = string(path)
			}
		}
		if v, err := getsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err == nil && v == 1 {
			k.State = "LISTEN"
		}
	case unix.AF_NETLINK:
		k.Proto = "netlink"
		p := (*unix.RawSockaddrNetlink)(unsafe.Pointer(&sa))
		k.Local = "portid " + strconv.FormatUint(uint64(p.Pid), 10)
	case unix.AF_PACKET:
		k.Proto = "packet"
		p := (*unix.RawSockaddrLinklayer)(unsafe.Pointer(&sa))
		if p.Ifindex != 0 {
			k.Local = "ifindex " + strconv.Itoa(int(p.Ifindex))
		}
	case unix.AF_VSOCK:
		k.Proto = "vsock"
	default:
		k.Proto = "af" + strconv.Itoa(int(sa.Addr.Family))
	}
}

// inetProto names an IPv4/IPv6 socket's protocol; for raw and ICMP ("ping")
// sockets the type decides.
func inetProto(fd, proto int) string {
	switch proto {
	case unix.IPPROTO_TCP:
		return "tcp"
	case unix.IPPROTO_UDP:
		return "udp"
	case unix.IPPROTO_SCTP:
		return "sctp"
	case unix.IPPROTO_UDPLITE:
		return "udplite"
	case unix.IPPROTO_MPTCP:
		return "mptcp"
	}
	typ, _ := getsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if typ == unix.SOCK_RAW {
		return "raw"
	}
	if proto == unix.IPPROTO_ICMP || proto == unix.IPPROTO_ICMPV6 {
		return "icmp" // a ping socket (SOCK_DGRAM)
	}
	return "ip" + strconv.Itoa(proto)
}

var tcpStates = [...]string{1: "ESTAB", 2: "SYN-SENT", 3: "SYN-RECV", 4: "FIN-WAIT-1", 5: "FIN-WAIT-2", 6: "TIME-WAIT", 7: "UNCONN", 8: "CLOSE-WAIT", 9: "LAST-ACK", 10: "LISTEN", 11: "CLOSING", 12: "NEW-SYN-RECV"}

func tcpState(b byte) string {
	if int(b) < len(tcpStates) && tcpStates[b] != "" {
		return tcpStates[b]
	}
	return "state" + strconv.Itoa(int(b))
}

func ntohs(p uint16) uint16 {
	var b [2]byte
	*(*uint16)(unsafe.Pointer(&b[0])) = p
	return binary.BigEndian.Uint16(b[:])
}

// Raw getsockopt calls: x/sys's wrappers allocate, and a snapshot makes
// thousands of these.

func getsockoptU64(fd, level, opt int) (uint64, error) {
	return getsockoptRaw[uint64](fd, level, opt)
}

func getsockoptInt(fd, level, opt int) (int, error) {
	v, err := getsockoptRaw[int32](fd, level, opt)
	return int(v), err
}

// getsockoptRaw reads an option of the size of T.
func getsockoptRaw[T uint64 | int32](fd, level, opt int) (T, error) {
	var v T
	l := uint32(unsafe.Sizeof(v))
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return 0, e
	}
	return v, nil
}

func getsockoptBytes(fd, level, opt int, b []byte) error {
	l := uint32(len(b))
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return e
	}
	return nil
}
