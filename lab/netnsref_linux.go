package lab

import (
	"fmt"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// ResolveNetns returns the file a reference (see ParseNetnsRef) names now.
// A bare name is the lab's namespace if /run/netns/nslab-NAME exists, else
// /run/netns/NAME; a name that carries the lab prefix is always the lab's.
func ResolveNetns(ref string) (string, error) {
	kind, pid, err := ParseNetnsRef(ref)
	if err != nil {
		return "", err
	}
	switch kind {
	case RefHost:
		return "/proc/self/ns/net", nil
	case RefPID:
		return "/proc/" + strconv.Itoa(pid) + "/ns/net", nil
	case RefPath:
		return ref, nil
	}
	lab := filepath.Join(NetnsDir, SysName(ref))
	if SysName(ref) == ref || netnsExists(SysName(ref)) {
		return lab, nil
	}
	if plain := filepath.Join(NetnsDir, ref); isNsfs(plain) {
		return plain, nil
	}
	return "", fmt.Errorf("network namespace %q does not exist: neither %s (a lab namespace) nor %s (ip netns add %s) is mounted: %w",
		ref, lab, filepath.Join(NetnsDir, ref), ref, ErrNotFound)
}

// OpenNetnsRef opens the namespace a reference names now. The handle's
// name is the reference itself (a lab name without its prefix).
func OpenNetnsRef(ref string) (*Netns, error) {
	path, err := ResolveNetns(ref)
	if err != nil {
		return nil, err
	}
	name := ref
	if k, _, _ := ParseNetnsRef(ref); k == RefName {
		name = ShortName(ref)
	} else if k == RefHost {
		name = "host"
	}
	ns, err := OpenNetnsPath(name, path)
	if err != nil {
		return nil, fmt.Errorf("network namespace %q: %w", ref, err)
	}
	return ns, nil
}

// StatNetnsRef returns the inode of the namespace a reference names now,
// without opening it (a stat and a statfs): what a proxy compares with the
// inode it bound to, to notice a namespace deleted and made again. It
// wraps ErrNotFound if nothing is there.
func StatNetnsRef(ref string) (uint64, error) {
	path, err := ResolveNetns(ref)
	if err != nil {
		return 0, err
	}
	if !isNsfs(path) {
		return 0, fmt.Errorf("network namespace %q: %s is not a mounted namespace: %w", ref, path, ErrNotFound)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("network namespace %q: %w", ref, errnoKind(err))
	}
	return st.Ino, nil
}

// isNsfs reports whether path is a namespace file (a mount of nsfs, or a
// /proc/PID/ns link).
func isNsfs(path string) bool {
	var sfs unix.Statfs_t
	return unix.Statfs(path, &sfs) == nil && sfs.Type == unix.NSFS_MAGIC
}
