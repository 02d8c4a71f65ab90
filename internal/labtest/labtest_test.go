package labtest

import (
	"strings"
	"testing"
)

// Tests make namespaces and links by the dozen from one base ("mn" thirty
// times over): no two names may meet, and each must still fit a link name.
func TestNameNeverRepeats(t *testing.T) {
	const n = 20_000 // four hex digits (65 536) meet after about 300
	seen := make(map[string]bool, n)
	for range n {
		name := Name("mn")
		if seen[name] {
			t.Fatalf("Name(%q) returned %q twice in %d draws", "mn", name, len(seen)+1)
		}
		seen[name] = true
		if rest, ok := strings.CutPrefix(name, "mn"); !ok || len(rest) != 4 || strings.Trim(rest, "0123456789abcdefghijklmnopqrstuvwxyz") != "" {
			t.Fatalf("Name(%q) = %q, want mn and 4 characters of [0-9a-z]", "mn", name)
		}
	}
}
