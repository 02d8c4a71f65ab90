package script

import (
	"regexp"
	"strings"
	"testing"
)

// nslabAPI matches a call into nslab's own packages: a Go equivalent must
// be code a reader can take home, on netns, netlink and x/sys.
var nslabAPI = regexp.MustCompile(`\b(lab|probe|proxy|session|script)\.[A-Z]`)

func TestNoGoEquivalentCallsNslab(t *testing.T) {
	for _, c := range Commands() {
		st, err := ParseLine("", 1, c.Example)
		if err != nil {
			t.Fatal(err)
		}
		if m := nslabAPI.FindString(st.Go()); m != "" {
			t.Errorf("%s: the Go equivalent calls nslab's %s…:\n%s", c.Name, m, st.Go())
		}
	}
}

func render(t *testing.T, src string) string {
	t.Helper()
	stmts, err := Parse("t", 1, src)
	if err != nil {
		t.Fatal(err)
	}
	x := NewSh(HostNames())
	x.Plan(stmts)
	return x.Lines(stmts)
}

func TestASpawnedChildIsAddressedByItsPID(t *testing.T) {
	out := render(t, "spawn c net\nlink add veth0 type veth peer ceth0\nlink set ceth0 netns c\naddr add 10.0.0.2/24 dev ceth0 -n c\nexpect link ceth0 -n c down\nkill c")
	for _, want := range []string{
		"ip link set nslab-ceth0 netns $PID_OF_C name ceth0", // by PID, and named as the lab names it
		"nsenter -t $PID_OF_C -n ip addr add 10.0.0.2/24 dev ceth0",
		"nsenter -t $PID_OF_C -n ip -o link show dev ceth0 2>/dev/null | grep -qv '[<,]UP[,>]' || fail 'expect link ceth0 -n c down'",
		"kill -9 $PID_OF_C",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
	if regexp.MustCompile(`nslab-c\b`).MatchString(out) {
		t.Errorf("a spawned child is addressed as a named namespace:\n%s", out)
	}
}

func TestChecksAreTestsThatFailWithTheirLine(t *testing.T) {
	out := render(t, "netns add a\nexpect ping 10.9.9.9 -n a fails\nexec -n a -- ip -br link\nexpect output contains lo\nexpect link lo -n a up within 5s\nexpect threads self <= 12")
	for _, want := range []string{
		"! ip netns exec nslab-a ping -c 1 -W 1 10.9.9.9 >/dev/null 2>&1 || fail 'expect ping 10.9.9.9 -n a fails'",
		`OUT=$(ip netns exec nslab-a ip -br link 2>&1); echo "$OUT"`, // captured: a later check reads it
		`printf '%s\n' "$OUT" | grep -qF -- lo || fail 'expect output contains lo'`,
		"n=0; until ip -n nslab-a -o link show dev lo 2>/dev/null | grep -q '[<,]UP[,>]'; do n=$((n+1)); [ $n -lt 51 ] || fail 'expect link lo -n a up within 5s'; sleep 0.1; done",
		`test "$(awk '/^Threads:/ {print $2}' /proc/$$/status)" -le 12 || fail 'expect threads self <= 12'`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks\n%s\nin:\n%s", want, out)
		}
	}
}

func TestTeardownUndoesWhatTheScriptMade(t *testing.T) {
	stmts, _ := Parse("t", 1, "netns add a b{1..3}\nlink add br0 type bridge\nlink add v0 type veth peer v1 netns a\nspawn c net")
	x := NewSh(HostNames())
	x.Lines(stmts)
	got := strings.Join(x.Teardown(), "\n")
	for _, want := range []string{"kill -9 ${PID_OF_C:-}", "ip link del nslab-v0", "ip link del nslab-br0", "ip netns del nslab-a", "printf 'netns del nslab-b%s\\n' $(seq 1 3) | ip -force -batch -"} {
		if !strings.Contains(got, want) {
			t.Errorf("teardown lacks %q:\n%s", want, got)
		}
	}
}

func TestSessionNamesReachEveryLine(t *testing.T) {
	stmts, _ := Parse("t", 1, "netns add a\nlink add br0 type bridge\nexec -n a -- true\nexpect netns a exists")
	x := NewSh(SysNames{
		Netns: func(n string) string { return "nslab-7f-" + n },
		Link:  func(ns, n string) string { return "nslab7f" + n },
	})
	out := x.Lines(stmts)
	for _, want := range []string{"ip netns add nslab-7f-a", "ip link add nslab7fbr0 type bridge", "ip netns exec nslab-7f-a true", "test -e /run/netns/nslab-7f-a"} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
}
