//go:build linux

package labtest

import "golang.org/x/sys/unix"

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
