package proxy

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWorkerBinary(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "nslab")
	light := filepath.Join(dir, "nslab-proxy")
	if err := os.WriteFile(self, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Run("without nslab-proxy beside it, the worker is this binary again", func(t *testing.T) {
		if got := workerBinaryFor(self); got != "/proc/self/exe" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("a non-executable nslab-proxy is ignored", func(t *testing.T) {
		if err := os.WriteFile(light, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := workerBinaryFor(self); got != "/proc/self/exe" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("an executable nslab-proxy beside it is used", func(t *testing.T) {
		if err := os.Chmod(light, 0o755); err != nil {
			t.Fatal(err)
		}
		if got := workerBinaryFor(self); got != light {
			t.Fatalf("got %q, want %q", got, light)
		}
	})
	t.Run("nslab-proxy itself re-executes itself", func(t *testing.T) {
		if got := workerBinaryFor(light); got != "/proc/self/exe" {
			t.Fatalf("got %q", got)
		}
	})
}
