package main

import "golang.org/x/sys/unix"

// ownedByRoot reports whether path (not followed if a link) is root's.
func ownedByRoot(path string) bool {
	var st unix.Stat_t
	return unix.Lstat(path, &st) == nil && st.Uid == 0
}
