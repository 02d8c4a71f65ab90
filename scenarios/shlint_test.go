package scenarios

import (
	"strings"
	"testing"
)

func TestAnShBlockNamingANamespaceTheLabDoesNotMakeFails(t *testing.T) {
	src := strings.Replace(good, "ip netns add nslab-a\n```", "ip netns add nslab-a\nip netns exec nslab-b ip link   # a typo\nip -n a link; nsenter --net=/run/netns/nslab-a ip link; ip link set x netns $PID\n```", 1)
	_, err := Parse("t.md", []byte(src))
	if err == nil {
		t.Fatal("a sh block naming nslab-b, which the lab does not make, linted clean")
	}
	msg := err.Error()
	if !strings.Contains(msg, `t.md:26:15: the sh block names namespace "nslab-b", which this lesson's lab does not make (it makes nslab-a)`) {
		t.Errorf("error = %v, want it at the name, saying what the lab makes", err)
	}
	if strings.Count(msg, "names namespace") != 1 {
		t.Errorf("want one error (the lab's a, by either name, a variable and a PID are fine): %v", err)
	}
}
