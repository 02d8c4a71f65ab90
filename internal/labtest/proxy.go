//go:build linux

package labtest

import (
	"net"

	"golang.org/x/sys/unix"
)

// AcceptAll hands every connection l accepts to serve, each in its own
// goroutine, until l is closed: the accept loop of a test's backend.
func AcceptAll(l net.Listener, serve func(net.Conn)) {
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
}

// SocketNetns is the inode of the network namespace socket fd was made in,
// asked of the socket itself (ioctl SIOCGSKNS), whatever namespace the
// asking thread is in.
func SocketNetns(fd int) (uint64, error) {
	nsfd, err := unix.IoctlRetInt(fd, unix.SIOCGSKNS)
	if err != nil {
		return 0, err
	}
	defer unix.Close(nsfd)
	var st unix.Stat_t
	err = unix.Fstat(nsfd, &st)
	return st.Ino, err
}
