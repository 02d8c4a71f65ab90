package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
)

func TestProxyWithABadConfigNamesTheLineAndStartsNothing(t *testing.T) {
	labtest.RequireRoot(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "edge.yaml")
	ctl := filepath.Join(dir, "edge.sock")
	os.WriteFile(cfg, []byte("control: "+ctl+"\nroutes:\n  - listen: host/tcp/127.0.0.1:0\n    target: host/udp/127.0.0.1:9\n"), 0o644)
	_, stderr, code := nslab(t, "proxy", "--config", cfg)
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if want := cfg + ":4:13: routes[0].target: udp cannot carry tcp"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q\nwant it to contain %q", stderr, want)
	}
	if _, err := os.Stat(ctl); err == nil {
		t.Errorf("the control socket was created for a config that failed")
	}
}
