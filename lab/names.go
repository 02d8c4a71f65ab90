package lab

import (
	"fmt"
	"strings"
)

// Prefix marks every system resource the lab creates: the namespace a learner
// calls "alpha" is nslab-alpha in /run/netns, and a host-side link "br0" is
// nslab-br0. Links inside lab namespaces keep the learner's name (eth0), since
// the namespace itself is the lab's.
const Prefix = "nslab-"

// maxLinkName is IFNAMSIZ-1: the kernel rejects longer interface names.
const maxLinkName = 15

// maxNetnsName keeps namespace names readable in tables; the kernel's limit
// (a file name) is far larger.
const maxNetnsName = 64

// SysName maps a learner's name to the lab's system name. A name that already
// carries the prefix is returned unchanged, so "alpha" and "nslab-alpha" are
// the same namespace.
func SysName(name string) string {
	if strings.HasPrefix(name, Prefix) {
		return name
	}
	return Prefix + name
}

// ShortName is the inverse of SysName: what a learner typed.
func ShortName(sys string) string { return strings.TrimPrefix(sys, Prefix) }

// IsHost reports whether a namespace name means the namespace the lab
// process started in.
func IsHost(name string) bool { return name == "" || name == "host" }

// ValidateNetnsName checks a learner's namespace name.
func ValidateNetnsName(name string) error {
	short := ShortName(name)
	if short == "" || short == "host" {
		return fmt.Errorf("namespace name %q: %w: give a name such as alpha", name, ErrInvalid)
	}
	if len(SysName(name)) > maxNetnsName {
		return fmt.Errorf("namespace name %q is %d bytes: %w: use at most %d", name, len(short), ErrInvalid, maxNetnsName-len(Prefix))
	}
	return validChars("namespace", name)
}

// ValidateLinkName checks the system name of a link; hostSide says whether
// it lives in the host namespace (and so carries the prefix).
func ValidateLinkName(name string, hostSide bool) error {
	sys := name
	if hostSide {
		sys = SysName(name)
	}
	if ShortName(name) == "" {
		return fmt.Errorf("link name is empty: %w", ErrInvalid)
	}
	if len(sys) > maxLinkName {
		max := maxLinkName
		if hostSide {
			max -= len(Prefix)
		}
		return fmt.Errorf("link name %q becomes %q, %d bytes: %w: interface names are at most 15 bytes, so a host-side link may use %d (the lab adds %q)",
			name, sys, len(sys), ErrInvalid, max, Prefix)
	}
	return validChars("link", name)
}

func validChars(what, name string) error {
	if name == "." || name == ".." {
		return fmt.Errorf("%s name %q: %w", what, name, ErrInvalid)
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return fmt.Errorf("%s name %q: character %q at %d: %w: use letters, digits, '-', '_' and '.'", what, name, r, i+1, ErrInvalid)
		}
	}
	return nil
}
