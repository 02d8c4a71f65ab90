package lab

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
)

// Prefix marks every system resource the lab creates: the namespace a learner
// calls "alpha" is nslab-alpha in /run/netns, and a host-side link "br0" is
// nslab-br0. Links inside lab namespaces keep the learner's name (eth0), since
// the namespace itself is the lab's.
//
// Host mode shares the machine's names among every lab running on it: a
// lab that starts while another holds "nslab-" takes the next free of
// "nslab2-" ... "nslab9-" (see ClaimNames), so two labs of the same lesson
// run side by side. The learner still types and sees "alpha"; every layer
// maps names through SysName and ShortName, which use this process's
// prefix. In a sandbox, the names are the sandbox's own: always "nslab-".
const Prefix = "nslab-"

// maxLinkName is IFNAMSIZ-1: the kernel rejects longer interface names.
const maxLinkName = 15

// maxNetnsName keeps namespace names readable in tables; the kernel's limit
// (a file name) is far larger.
const maxNetnsName = 64

// prefixEnv passes a lab's prefix to the processes it re-executes (proxy
// workers), which name the lab's namespaces without a session of their own.
const prefixEnv = "NSLAB_PREFIX"

var (
	prefixMu sync.Mutex
	prefix   string // claimed by this process (ClaimNames); "" = none
)

// SysPrefix is the prefix of this process's system names: the one it
// claimed, the one the lab that started it passed on, or Prefix.
func SysPrefix() string {
	prefixMu.Lock()
	p := prefix
	prefixMu.Unlock()
	if p != "" {
		return p
	}
	if p := os.Getenv(prefixEnv); isPrefix(p) && isReexecChild() {
		return p
	}
	return Prefix
}

// isPrefix reports whether p is a lab prefix: nslab- or nslab2- ... nslab9-.
func isPrefix(p string) bool {
	return p == Prefix || len(p) == len(Prefix)+1 && strings.HasPrefix(p, "nslab") && p[5] >= '2' && p[5] <= '9' && p[6] == '-'
}

// IsLabName reports whether a system name carries a lab prefix, this
// process's or another lab's.
func IsLabName(sys string) bool {
	if strings.HasPrefix(sys, Prefix) {
		return true
	}
	return len(sys) > len(Prefix)+1 && isPrefix(sys[:len(Prefix)+1])
}

// isReexecChild reports whether this process is a child the lab
// re-executed (argv[0] nslab-NAME:LABEL), which inherits its lab's prefix.
func isReexecChild() bool {
	return len(os.Args) > 0 && strings.HasPrefix(os.Args[0], "nslab-")
}

// SysName maps a learner's name to the lab's system name. A name that already
// carries the prefix is returned unchanged, so "alpha" and "nslab-alpha" are
// the same namespace.
func SysName(name string) string {
	p := SysPrefix()
	if strings.HasPrefix(name, p) {
		return name
	}
	return p + name
}

// ShortName is the inverse of SysName: what a learner typed.
func ShortName(sys string) string { return strings.TrimPrefix(sys, SysPrefix()) }

// ShortNameOf strips whichever lab prefix a system name carries: the
// learner's name in any lab's (nslab2-alpha is alpha).
func ShortNameOf(sys string) string {
	if strings.HasPrefix(sys, Prefix) {
		return sys[len(Prefix):]
	}
	if IsLabName(sys) {
		return sys[len(Prefix)+1:]
	}
	return sys
}

// VarName makes a shell variable name of a learner's name: a-b.c is a_b_c
// (NS_a_b_c holds the system name of namespace a-b.c; see Session.NameVars).
func VarName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

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
		return fmt.Errorf("namespace name %q is %d bytes: %w: use at most %d", name, len(short), ErrInvalid, maxNetnsName-len(SysPrefix()))
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
		if !hostSide {
			return fmt.Errorf("link name %q is %d bytes: %w: interface names are at most %d bytes", name, len(sys), ErrInvalid, maxLinkName)
		}
		return fmt.Errorf("link name %q becomes %q, %d bytes: %w: interface names are at most %d bytes, so a host-side link may use %d (the lab adds %q)",
			name, sys, len(sys), ErrInvalid, maxLinkName, maxLinkName-len(SysPrefix()), SysPrefix())
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

// LinkSysName maps the learner's name of a link in namespace ns to the name
// on the system: host-side links carry the lab prefix (so they can never be
// mistaken for the machine's own), links inside lab namespaces keep the
// learner's name (eth0).
func LinkSysName(ns, name string) string {
	if IsHost(ns) {
		return SysName(name)
	}
	return name
}

// ParseCIDR parses an interface address such as 10.0.0.1/24 or fd00::1/64,
// with an error that says what is wrong and what a valid one looks like.
func ParseCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err == nil {
		return p, nil
	}
	addr, bits, slash := strings.Cut(s, "/")
	switch a, aerr := netip.ParseAddr(addr); {
	case strings.Contains(s, "%"):
		return netip.Prefix{}, fmt.Errorf("address %q: %w: an interface address takes no zone (%%...); write it as %s", s, ErrInvalid, dropZone(s))
	case aerr == nil && !slash:
		return netip.Prefix{}, fmt.Errorf("address %q has no prefix length: %w: write it as %s/24 (IPv4) or %s/64 (IPv6)", s, ErrInvalid, s, s)
	case aerr == nil:
		return netip.Prefix{}, fmt.Errorf("address %q: prefix length %q: %w: an %s prefix length is 0 to %d", s, bits, ErrInvalid, map[bool]string{true: "IPv4", false: "IPv6"}[a.Is4()], a.BitLen())
	}
	return netip.Prefix{}, fmt.Errorf("address %q: %w: want an IP with prefix length, like 10.0.0.1/24 or fd00::1/64", s, ErrInvalid)
}

// dropZone turns fe80::1%eth0/64 into fe80::1/64, for an error message.
func dropZone(s string) string {
	addr, bits, slash := strings.Cut(s, "/")
	addr, _, _ = strings.Cut(addr, "%")
	if slash {
		return addr + "/" + bits
	}
	return addr + "/64"
}

// ParseIP parses an IP literal; host names are refused (see DialIn).
func ParseIP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address: %w: use a literal like 10.0.0.2 or fd00::2", s, ErrInvalid)
	}
	return a, nil
}
