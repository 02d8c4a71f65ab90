package main

import (
	"os"
	"testing"
)

// The host key lives under the XDG state directory when one is given;
// root without one (serve as a system service) keeps it in /var/lib.
func TestTheHostKeyIsUnderTheStateDirectory(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/srv/state")
	if got := defaultHostKey(); got != "/srv/state/nslab/ssh_host_ed25519_key" {
		t.Errorf("with XDG_STATE_HOME: %s", got)
	}
	t.Setenv("XDG_STATE_HOME", "")
	want := "/var/lib/nslab/ssh_host_ed25519_key"
	if os.Geteuid() != 0 {
		home, _ := os.UserHomeDir()
		want = home + "/.local/state/nslab/ssh_host_ed25519_key"
	}
	if got := defaultHostKey(); got != want {
		t.Errorf("without XDG_STATE_HOME: %s, want %s", got, want)
	}
}
