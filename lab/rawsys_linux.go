package lab

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The system calls of an inline dial (Dialer.Inline: setns, socket,
// connect), made without telling the Go scheduler (RawSyscall). Each
// returns at once: connect is non-blocking. Entered the scheduler's way,
// a system call made while every P of the process was idle wakes the
// runtime's monitor thread (sysmon), which then polls every 20 µs for a
// millisecond before it backs off: at 1000 new connections a second
// through the proxy, one connection every millisecond, that was a third
// of the proxy's context switches (perf record -e context-switches).
// x/sys has each call, but only the scheduler's way. The same holds for
// the other calls here: reopening a parked namespace handle (per
// connection, at many tenants) and counting this process's threads (an
// idle daemon's look after a trim).

func rawSetns(fd int) error {
	if _, _, e := unix.RawSyscall(unix.SYS_SETNS, uintptr(fd), unix.CLONE_NEWNET, 0); e != 0 {
		return e
	}
	return nil
}

func sysSocket(domain, typ, proto int) (int, error) {
	fd, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(domain), uintptr(typ), uintptr(proto))
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// rawConnect connects fd to an IPv4 or IPv6 address (other kinds go the
// scheduler's way).
func rawConnect(fd int, sa unix.Sockaddr) error {
	var e unix.Errno
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		raw := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.Addr}
		raw.Port = uint16(a.Port>>8) | uint16(a.Port&0xff)<<8
		_, _, e = unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&raw)), unix.SizeofSockaddrInet4)
	case *unix.SockaddrInet6:
		raw := unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: a.Addr, Scope_id: a.ZoneId}
		raw.Port = uint16(a.Port>>8) | uint16(a.Port&0xff)<<8
		_, _, e = unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&raw)), unix.SizeofSockaddrInet6)
	default:
		return unix.Connect(fd, sa)
	}
	if e != 0 {
		return e
	}
	return nil
}

// rawIoctlRetInt is unix.IoctlRetInt without the scheduler.
func rawIoctlRetInt(fd int, req uint) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// rawCountEntries counts the entries of directory path (not . and ..),
// as os.ReadDir would list them, without the scheduler: a directory of
// /proc, whose reads return at once.
func rawCountEntries(path string) (int, error) {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return 0, err
	}
	fd, _, e := unix.RawSyscall6(unix.SYS_OPENAT, 0 /* the path is absolute */, uintptr(unsafe.Pointer(p)),
		uintptr(unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	defer unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
	var buf [2048]byte
	var names []string
	n := 0
	for {
		r, _, e := unix.RawSyscall(unix.SYS_GETDENTS64, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		if e != 0 {
			return 0, e
		}
		if r == 0 {
			return n, nil
		}
		var c int
		_, c, names = unix.ParseDirent(buf[:r], -1, names[:0])
		n += c
	}
}
