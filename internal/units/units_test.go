package units

import "testing"

func TestBytes(t *testing.T) {
	for _, c := range []struct {
		n    uint64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1 kB"}, {512 << 10, "512 kB"},
		{1<<20 - 1, "1024 kB"}, {1 << 20, "1.0 MB"}, {11744051, "11.2 MB"},
		{476370944, "454.3 MB"}, {3 << 30, "3.0 GB"},
	} {
		if got := Bytes(c.n); got != c.want {
			t.Errorf("Bytes(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
