package main

import (
	"slices"
	"strings"
	"testing"
)

func TestCompletionOffersLessonsAndSteps(t *testing.T) {
	complete := func(args ...string) []string {
		out, stderr, code := nslab(t, append([]string{"__complete"}, args...)...)
		if code != 0 {
			t.Fatalf("__complete %v: exit %d\n%s", args, code, stderr)
		}
		var words []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasPrefix(l, ":") { // the last line is the directive
				w, _, _ := strings.Cut(l, "\t")
				words = append(words, w)
			}
		}
		return words
	}
	ids := complete("run", "")
	for _, want := range []string{"hello", "veth", "thread-savings"} {
		if !slices.Contains(ids, want) {
			t.Errorf("run \"\": %v lacks %s", ids, want)
		}
	}
	if got := complete("run", "ve"); !slices.Equal(got, []string{"veth"}) {
		t.Errorf("run ve: %v", got)
	}
	if got := complete("--open", "thread-s"); !slices.Equal(got, []string{"thread-savings"}) {
		t.Errorf("--open thread-s: %v", got)
	}
	steps := complete("run", "veth", "--from", "")
	if len(steps) < 3 || steps[0] != "A child with its own network stack" {
		t.Errorf("run veth --from: %v", steps)
	}
}
