//go:build linux

package labtest

import (
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// Ino is the inode of path: for /proc/PID/ns/TYPE, /proc/thread-self/ns/TYPE
// or /run/netns/NAME, the namespace's. If path cannot be read, the test
// fails.
func Ino(t testing.TB, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// ThreadNetns maps each thread of this process (by TID) to the inode of
// the network namespace it is in now, from /proc/self/task; a thread that
// exits meanwhile is left out.
func ThreadNetns() map[int]uint64 {
	tasks, _ := filepath.Glob("/proc/self/task/*/ns/net")
	out := map[int]uint64{}
	for _, p := range tasks {
		tid, err := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
		var st unix.Stat_t
		if err == nil && unix.Stat(p, &st) == nil {
			out[tid] = st.Ino
		}
	}
	return out
}

// SelfNetns is the inode of this process's network namespace (its main
// thread's), or the test fails.
func SelfNetns(t testing.TB) uint64 {
	t.Helper()
	return Ino(t, "/proc/self/ns/net")
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
