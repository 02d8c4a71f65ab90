package script

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseErrorsSayWhereAndWhat(t *testing.T) {
	tests := []struct {
		name string
		line string
		col  int
		want string
	}{
		{"a typo in a subcommand suggests the right one", "link sett va up", 6, "did you mean `link set`"},
		{"a typo in a command suggests the right one", "pnig 10.0.0.1", 1, "did you mean `ping`"},
		{"an unknown command points at help", "frobnicate", 1, "`help` lists the commands"},
		{"a group word alone lists its commands", "netns", 6, "netns add, netns del, netns list"},
		{"a missing argument is named", "addr add 10.0.0.1/24 dev", 25, "missing a link name after `dev`"},
		{"a bad CIDR is explained", "addr add 10.0.0.1 dev va", 10, "no prefix length"},
		{"a wrong keyword lists the right ones", "link add va type vethh peer vb", 18, "expected `veth` or `bridge`: did you mean `veth`?"},
		{"a host name is refused where an IP is needed", "ping gateway.lan", 6, "not an IP address"},
		{"left-over words are reported", "link del va b", 13, "unexpected `b`"},
		{"a backwards range", "netns add t{5..1}", 11, "range {5..1}"},
		{"a range too long", "netns add t{1..5000}", 11, "at most 1000 names"},
		{"a bad name inside a list", "netns add ok,host", 14, "give a name such as alpha"},
		{"-n without a name", "ping 10.0.0.1 -n", 17, "-n needs a namespace name"},
		{"an unclosed quote", `connect tcp 127.0.0.1:80 send "hi`, 31, "unclosed \" quote"},
		{"a bad within", "expect link va up within soon", 26, "duration like 30s"},
		{"a host link name too long for the prefix", "link add averylongname type bridge", 10, "at most 15 bytes"},
		{"a bad ping count", "ping 10.0.0.1 -c lots", 18, "want a number"},
		{"spawn with an unknown namespace type", "spawn c1 net,utz", 10, "did you mean `uts`"},
		{"a proxy strategy typo", "proxy start p strategy=share route {tenant}/tcp/127.0.0.1:1={tenant}/tcp/10.0.0.1:2", 15, "did you mean `shared`"},
		{"a proxy route without a target", "proxy start p route {tenant}/tcp/127.0.0.1:1", 21, "want LISTEN=TARGET"},
		{"a proxy without routes", "proxy start p", 14, "at least one `route"},
		{"a proxy add without tenants", "proxy add p", 12, "missing one or more tenant namespaces"},
		{"a child may not be called self", "spawn self net", 7, "pick another name"},
		{"a name may not be empty", `spawn "" net`, 7, "cannot be empty"},
		{"expect pid names a missing number", "expect pid c1 ==", 17, "missing a number"},
		{"a PID is at least 1", "expect pid c1 == 0", 18, "want a PID"},
		{"a bad operator lists the right ones", "expect pid c1 = 1", 15, "expected `<=`"},
		{"left-over words after a check are reported", "expect pid c1 == 1 now", 20, "unexpected `now`"},
		{"a bad within of expect pid", "expect pid c1 == 1 within soon", 27, "duration like 30s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLine("lesson.md", 7, tt.line)
			wantSyntaxError(t, err, "lesson.md", 7, tt.col, tt.want)
		})
	}
}

func TestParseGivesShellAndGo(t *testing.T) {
	tests := []struct{ line, shell, goHas string }{
		{"netns add alpha", "ip netns add nslab-alpha", "netns.NewNamed(\"nslab-alpha\")"},
		{"netns add a t{1..100}", "ip netns add nslab-a\nprintf 'netns add nslab-t%s\\n' $(seq 1 100) | ip -batch -", "netns.NewNamed(name"},
		{"proxy add px a t{1..9}", `curl -sf --unix-socket "$RUN/px.sock" -X POST "http://proxy/tenants?name=a&$(printf 'name=t%s&' $(seq 1 9))" >/dev/null`, "bindShared"},
		{"link add va type veth peer vb netns beta -n alpha", "ip -n nslab-alpha link add va type veth peer name vb netns nslab-beta", "PeerNamespace"},
		{"link add br0 type bridge", "ip link add nslab-br0 type bridge", "netlink.Bridge"},
		{"addr add 10.0.0.1/24 dev va -n alpha", "ip -n nslab-alpha addr add 10.0.0.1/24 dev va", "h.AddrAdd"},
		{"route add default via 10.0.0.1 -n alpha", "ip -n nslab-alpha route add default via 10.0.0.1", "h.RouteAdd"},
		{"ping 10.0.0.2 -n alpha -c 2", "ip netns exec nslab-alpha ping -c 2 -i 0.2 -W 1 10.0.0.2", "icmp.ListenPacket"},
		{"exec -n alpha -- ss -ltn", "ip netns exec nslab-alpha ss -ltn", "cmd.Start()"},
		{"listen tcp 127.0.0.1:8080 -n alpha as web", `ip netns exec nslab-alpha socat TCP-LISTEN:8080,bind=127.0.0.1,fork,reuseaddr "SYSTEM:\"printf 'echo: '; exec cat\"" & PID_OF_WEB=$!` +
			"\nuntil ip netns exec nslab-alpha ss -Hltn 'sport = :8080' | grep -q .; do sleep 0.1; done # until it listens", "net.Listen(\"tcp\", \"127.0.0.1:8080\")"},
		{"close web", "pkill -P $PID_OF_WEB || true; kill $PID_OF_WEB; wait $PID_OF_WEB 2>/dev/null || true", "l.Close()"},
		{"spawn c1 net,uts hostname box", "unshare --net --uts bash -c 'hostname box; exec sleep infinity' & PID_OF_C1=$!" +
			"\nfor i in $(seq 100); do [ \"$(cat /proc/$PID_OF_C1/comm 2>/dev/null)\" = sleep ] && break; sleep 0.05; done", "syscall.CLONE_NEWNET | syscall.CLONE_NEWUTS"},
		{"spawn box pid,mnt mountproc -- sleep 60", "unshare --pid --fork --kill-child --mount --mount-proc bash -c 'exec -a nslab-init:box sleep 60' &" +
			"\nfor i in $(seq 100); do PID_OF_BOX=$(pgrep -P $!) && [ \"$(cat /proc/$PID_OF_BOX/comm 2>/dev/null)\" = sleep ] && break; sleep 0.05; done", "CLONE_NEWPID"},
		{"spawn r user uidmap 0 0 1 gidmap 0 0 1", "unshare --user --map-user=0 --map-group=0 sleep infinity & PID_OF_R=$!" +
			"\nfor i in $(seq 100); do [ \"$(cat /proc/$PID_OF_R/comm 2>/dev/null)\" = sleep ] && break; sleep 0.05; done", "CLONE_NEWUSER"},
		{"spawn u user uidmap 0 100000 65536", "unshare --user sleep infinity & PID_OF_U=$!" +
			"\nfor i in $(seq 100); do [ \"$(cat /proc/$PID_OF_U/comm 2>/dev/null)\" = sleep ] && break; sleep 0.05; done\necho '0 100000 65536' > /proc/$PID_OF_U/uid_map", "CLONE_NEWUSER"},
		{"exec -p c1 -- hostname", "nsenter -t $PID_OF_C1 -a --preserve-credentials hostname", "nsenter"},
		{"kill c1", "kill -9 $PID_OF_C1; wait $PID_OF_C1 2>/dev/null || true", "Kill()"},
		{"idmap c1 uid 0 1000 1", "echo '0 1000 1' > /proc/$PID_OF_C1/uid_map", "uid_map"},
		{"proxy start px strategy=thread-per-namespace route {tenant}/tcp/127.0.0.1:80={tenant}/tcp/10.0.0.1:80 tenants a,b",
			`nslab proxy --name px --control "$RUN/px.sock" --strategy thread-per-namespace --route '{tenant}/tcp/127.0.0.1:80={tenant}/tcp/10.0.0.1:80' --tenant a --tenant b 2>"$RUN/px.log" & PID_OF_PX=$!` +
				"\nuntil curl -sf --unix-socket \"$RUN/px.sock\" http://proxy/stats >/dev/null; do # until it serves\n\tkill -0 $PID_OF_PX 2>/dev/null || { cat \"$RUN/px.log\" >&2; fail 'proxy px did not start (is nslab on the PATH?)'; }; sleep 0.1\ndone",
			"runtime.LockOSThread() // never unlocked"},
		{"proxy add px a b", `curl -sf --unix-socket "$RUN/px.sock" -X POST "http://proxy/tenants?name=a&name=b" >/dev/null`, "bindShared([]string{\"a\", \"b\"})"},
	}
	for _, tt := range tests {
		st, err := ParseLine("", 1, tt.line)
		if err != nil {
			t.Fatalf("%q: %v", tt.line, err)
		}
		if st.Shell() != tt.shell {
			t.Errorf("%q: shell\n got %q\nwant %q", tt.line, st.Shell(), tt.shell)
		}
		if !strings.Contains(st.Go(), tt.goHas) {
			t.Errorf("%q: Go snippet lacks %q:\n%s", tt.line, tt.goHas, st.Go())
		}
	}
}

func TestParseScriptCollectsEveryError(t *testing.T) {
	src := "netns add a\n# a comment\n\nlink sett x up\nping nowhere\n"
	stmts, err := Parse("f.lab", 10, src)
	if len(stmts) != 1 {
		t.Errorf("parsed %d statements, want the 1 valid one", len(stmts))
	}
	if err == nil || !strings.Contains(err.Error(), "f.lab:13:6") || !strings.Contains(err.Error(), "f.lab:14:6") {
		t.Errorf("errors = %v, want both positioned (lines 13 and 14)", err)
	}
}

func TestEveryCommandHasHelpAndAParsableExample(t *testing.T) {
	for _, c := range Commands() {
		if c.Usage == "" || c.Summary == "" || c.Example == "" {
			t.Errorf("%s: usage, summary and example are required", c.Name)
			continue
		}
		st, err := ParseLine("", 1, c.Example)
		if err != nil {
			t.Errorf("%s: example %q does not parse: %v", c.Name, c.Example, err)
			continue
		}
		if st.Cmd != c {
			t.Errorf("%s: example parses as %s", c.Name, st.Cmd.Name)
		}
		if st.Shell() == "" || st.Go() == "" {
			t.Errorf("%s: no shell or Go equivalent", c.Name)
		}
	}
	if h, _ := Help(""); !strings.Contains(h, "netns add") {
		t.Error("help does not list netns add")
	}
}

// Every command's example, cut short after any word or with any word
// replaced by something out of place, parses or gives an error with a
// place: never a panic (the parser goes on reading after an error, with
// empty words).
func TestALineCutShortOrWithAWrongWordGivesAnError(t *testing.T) {
	wrong := []string{"!", "0", "-1", "--", "in", "==", "x{1..2}", "/", "@", "host", "self", `""`}
	for _, c := range Commands() {
		words := strings.Fields(c.Example)
		for n := 1; n <= len(words); n++ {
			lines := []string{strings.Join(words[:n], " ")}
			for i := range n {
				for _, w := range wrong {
					ws := slices.Clone(words[:n])
					ws[i] = w
					lines = append(lines, strings.Join(ws, " "))
				}
			}
			for _, line := range lines {
				if _, err := ParseLine("cut", 1, line); err != nil {
					var se *SyntaxError
					if !errors.As(err, &se) || se.Col < 1 {
						t.Errorf("%q: %v, want a *SyntaxError with a column", line, err)
					}
				}
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, c := range Commands() {
		f.Add(c.Example)
	}
	f.Add(`connect tcp 1.2.3.4:5 send "unclosed`)
	f.Add("expect ns net c1 != host within 5s")
	f.Add("spawn c -- ")
	f.Fuzz(func(t *testing.T, src string) {
		stmts, err := Parse("fuzz", 1, src)
		if err != nil {
			for _, e := range unjoin(err) {
				var se *SyntaxError
				if !errors.As(e, &se) || se.Line < 1 || se.Col < 1 {
					t.Fatalf("error without a position: %v", e)
				}
			}
		}
		for _, st := range stmts {
			_ = st.Shell()
			_ = st.Go()
		}
	})
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// wantSyntaxError fails t unless err is a *SyntaxError at file:line:col
// whose message says want.
func wantSyntaxError(t *testing.T, err error, file string, line, col int, want string) {
	t.Helper()
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("%v, want a *SyntaxError", err)
	}
	if se.File != file || se.Line != line || se.Col != col || !strings.Contains(se.Msg, want) {
		t.Errorf("error %v, want one at %s:%d:%d saying %q", err, file, line, col, want)
	}
}
