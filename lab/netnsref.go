package lab

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// A namespace reference names a network namespace the way an operator
// would, wherever it was made:
//
//	host (or "")     the namespace this process started in
//	alpha            a lab namespace (/run/netns/nslab-alpha), or else any
//	                 /run/netns name (`ip netns add alpha`)
//	/path            any nsfs file: a container runtime's sandbox key
//	                 (/var/run/docker/netns/1a2b3c), /proc/42/ns/net, a
//	                 bind mount anywhere
//	pid:42           the namespace process 42 is in
//
// A name or a path is followed: if what it names is deleted and made again,
// the reference means the new namespace (a proxy rebinds there, by inode).
// A pid is pinned: when the process is gone, so is the namespace for the
// reference, even if the number is given to another process.

// NetnsRefKind says how a reference is resolved.
type NetnsRefKind int

const (
	RefHost NetnsRefKind = iota // the process's own namespace
	RefName                     // a lab or /run/netns name, followed
	RefPath                     // an nsfs file anywhere, followed
	RefPID                      // a process's namespace, pinned
)

// ParseNetnsRef checks a reference and says which kind it is. For RefPID
// it also returns the process ID.
func ParseNetnsRef(ref string) (NetnsRefKind, int, error) {
	switch {
	case IsHost(ref):
		return RefHost, 0, nil
	case strings.HasPrefix(ref, "pid:"):
		pid, err := strconv.Atoi(ref[len("pid:"):])
		if err != nil || pid <= 0 {
			return 0, 0, fmt.Errorf("namespace %q: %w: pid: takes a process ID, like pid:4242", ref, ErrInvalid)
		}
		return RefPID, pid, nil
	case strings.HasPrefix(ref, "/"):
		if filepath.Clean(ref) != ref {
			return 0, 0, fmt.Errorf("namespace path %q: %w: write it without . or .. or doubled slashes, as %s", ref, ErrInvalid, filepath.Clean(ref))
		}
		return RefPath, 0, nil
	case strings.Contains(ref, "/"):
		return 0, 0, fmt.Errorf("namespace %q: %w: a path must be absolute (/var/run/netns/NAME, /proc/PID/ns/net)", ref, ErrInvalid)
	}
	if err := ValidateNetnsName(ref); err != nil {
		return 0, 0, err
	}
	return RefName, 0, nil
}

// ValidateNetnsRef checks a reference (see ParseNetnsRef).
func ValidateNetnsRef(ref string) error {
	_, _, err := ParseNetnsRef(ref)
	return err
}

// NetnsRefFollows reports whether a reference follows a name (a name or a
// path: recreated means the new namespace) rather than pinning one (a pid,
// the host).
func NetnsRefFollows(ref string) bool {
	k, _, err := ParseNetnsRef(ref)
	return err == nil && (k == RefName || k == RefPath)
}
