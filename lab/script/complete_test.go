package script

import (
	"slices"
	"testing"
)

func TestCompletionFitsTheArgument(t *testing.T) {
	c := Candidates{
		Namespaces: []string{"alpha", "beta"},
		NetNames:   []string{"alpha", "beta", "c1"},
		Children:   []string{"c1"},
		Proxies:    []string{"edge"},
		Sockets:    []string{"web"},
		Links: func(ns string) []string {
			switch ns {
			case "alpha":
				return []string{"lo", "va"}
			case "":
				return []string{"br0", "lo", "va", "veth0"}
			}
			return []string{"br0", "veth0"}
		},
	}
	tests := []struct {
		line string
		want []string
	}{
		{"", firstWords()},
		{"ne", []string{"netns"}},
		{"netns ", []string{"add", "del", "list"}},
		{"netns del ", []string{"alpha", "beta"}},
		{"link set ", []string{"br0", "lo", "va", "veth0"}},
		{"link set v", []string{"va", "veth0"}},
		{"link set -n alpha ", []string{"lo", "va"}},
		{"link set va up -n ", []string{"alpha", "beta", "c1", "host"}},
		{"link set eth0 netns ", []string{"alpha", "beta", "c1"}},
		{"link set v1 master ", []string{"br0", "lo", "va", "veth0"}},
		{"addr add 10.0.0.1/24 dev ", []string{"br0", "lo", "va", "veth0"}},
		{"proxy stats ", []string{"edge"}},
		{"proxy add ", []string{"edge"}},
		{"proxy add edge ", []string{"alpha", "beta"}},
		{"proxy add edge b", []string{"beta"}},
		{"close ", []string{"web"}},
		{"kill ", []string{"c1"}},
		{"exec -p ", []string{"c1"}},
		{"watch ", []string{"c1", "edge", "self"}},
		{"holders ", []string{"/run/netns/", "alpha", "beta", "c1", "edge", "host", "self"}},
		{"expect ", checkKinds},
		{"expect acc", []string{"accepted"}},
		{"expect accepted ", []string{"web"}},
		{"expect received web ", []string{"contains", "lacks"}},
		{"expect netns ", []string{"alpha", "beta"}},
		{"expect link lo -n alpha ", []string{"-n", "absent", "down", "exists", "up"}},
		{"expect threads ", []string{"c1", "edge", "self"}},
		{"listen ", []string{"http", "sctp", "tcp", "udp", "unix"}},
		{"listen tcp 127.0.0.1:80 ", []string{"-n", "as", "raw"}},
	}
	for _, tt := range tests {
		got := Complete(tt.line, len(tt.line), c)
		want := slices.Sorted(slices.Values(tt.want))
		if !slices.Equal(got, want) {
			t.Errorf("Complete(%q) = %q, want %q", tt.line, got, want)
		}
	}
}
