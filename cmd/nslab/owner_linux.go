package main

import "golang.org/x/sys/unix"

// ownedByRoot reports whether path (not followed if a link) is root's.
func ownedByRoot(path string) bool {
	var st unix.Stat_t
	return unix.Lstat(path, &st) == nil && st.Uid == 0
}

// ownedBy reports whether path is a directory (not a link) of uid.
func ownedBy(path string, uid int) bool {
	var st unix.Stat_t
	return unix.Lstat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR && int(st.Uid) == uid
}
