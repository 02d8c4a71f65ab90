package lab_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nslab/nslab/lab"
)

func TestNames(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		host    bool
		link    bool
		wantErr string
	}{
		{"a plain namespace name is accepted", "alpha", false, false, ""},
		{"a prefixed namespace name is the same namespace", "nslab-alpha", false, false, ""},
		{"host is reserved", "host", false, false, "give a name"},
		{"a slash is refused", "a/b", false, false, "character '/'"},
		{"a space is refused", "a b", false, false, "character ' '"},
		{"dot-dot is refused", "..", false, false, "invalid"},
		{"a long namespace name is refused", strings.Repeat("x", 70), false, false, "at most"},
		{"a 9-byte host link fits the prefix", "veth-host", true, true, ""},
		{"a 10-byte host link does not", "veth-host0", true, true, "at most 15 bytes"},
		{"a 15-byte link inside a lab namespace fits", "abcdefghijklmno", false, true, ""},
		{"a 16-byte link does not", "abcdefghijklmnop", false, true, "at most 15 bytes"},
		{"a 10-byte host link is told the prefix takes 6", "veth-host0", true, true, `may use 9 (the lab adds "nslab-")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.link {
				err = lab.ValidateLinkName(tt.in, tt.host)
			} else {
				err = lab.ValidateNetnsName(tt.in)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("%q: unexpected error %v", tt.in, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("%q: error %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			if !errors.Is(err, lab.ErrInvalid) {
				t.Errorf("%q: error does not wrap ErrInvalid: %v", tt.in, err)
			}
			if tt.link && !tt.host && strings.Contains(err.Error(), "nslab-") {
				t.Errorf("%q: a link inside a lab namespace gets no prefix, but the error speaks of it: %v", tt.in, err)
			}
		})
	}
	if got := lab.SysName("alpha"); got != "nslab-alpha" {
		t.Errorf("SysName(alpha) = %q", got)
	}
	if got := lab.LinkSysName("host", "br0"); got != "nslab-br0" {
		t.Errorf("host link br0 is %q on the system, want nslab-br0", got)
	}
	if got := lab.LinkSysName("alpha", "eth0"); got != "eth0" {
		t.Errorf("link eth0 inside a lab namespace is %q, want eth0", got)
	}
}

func TestParseCIDR(t *testing.T) {
	for _, tt := range []struct{ in, wantErr string }{
		{"10.0.0.1/24", ""},
		{"fd00::1/64", ""},
		{"10.0.0.1", "no prefix length"},
		{"10.0.0.300/24", "want an IP with prefix length"},
		{"example.com/24", "want an IP with prefix length"},
		{"10.0.0.1/33", "an IPv4 prefix length is 0 to 32"},
		{"fd00::1/129", "an IPv6 prefix length is 0 to 128"},
		{"10.0.0.1/x", "prefix length \"x\""},
		{"fe80::1%eth0/64", "takes no zone (%...); write it as fe80::1/64"},
		{"fe80::1%eth0", "write it as fe80::1/64"},
	} {
		_, err := lab.ParseCIDR(tt.in)
		if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseCIDR(%q) = %v, want error containing %q", tt.in, err, tt.wantErr)
		}
	}
}
