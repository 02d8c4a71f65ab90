package script

import (
	"strings"
	"testing"
)

func TestServePolicy(t *testing.T) {
	p := ServePolicy()
	for _, c := range []struct {
		name string
		argv []string
		deny string // a word of the refusal; "" = allowed
	}{
		{"ip may show addresses", []string{"ip", "-br", "addr"}, ""},
		{"ss may list sockets", []string{"ss", "-ltn"}, ""},
		{"cat may read /proc", []string{"cat", "/proc/self/status"}, ""},
		{"ls may list /proc/1/ns", []string{"ls", "-l", "/proc/1/ns"}, ""},
		{"nsenter may run an allowed tool", []string{"nsenter", "-t", "42", "-n", "--", "ip", "link"}, ""},
		{"ip netns exec may run an allowed tool", []string{"ip", "netns", "exec", "nslab-a", "ss", "-l"}, ""},
		{"a shell is refused", []string{"sh", "-c", "id"}, "not allowed here"},
		{"a path to a program is refused", []string{"/bin/ip", "link"}, "not allowed here"},
		{"cat outside /proc is refused", []string{"cat", "/etc/shadow"}, "/proc and /sys only"},
		{"a climb out of /proc is refused", []string{"cat", "/proc/../etc/passwd"}, "/proc and /sys only"},
		{"cat through /proc/PID/root is refused", []string{"cat", "/proc/1/root/etc/passwd"}, "through /proc/PID/root"},
		{"cat of an open file is refused", []string{"head", "/proc/self/fd/3"}, "through /proc/PID/fd"},
		{"ls through /proc/PID/cwd is refused", []string{"ls", "/proc/1/cwd/"}, "through /proc/PID/cwd"},
		{"ls of the fds is allowed", []string{"ls", "-l", "/proc/self/fd"}, ""},
		{"nsenter without a command is refused", []string{"nsenter", "-t", "42", "-a"}, "starts a shell"},
		{"nsenter into a shell is refused", []string{"nsenter", "-t", "42", "-a", "sh"}, "sh is not allowed"},
		{"nsenter with another root is refused", []string{"nsenter", "--root=/", "-t", "1", "ip", "a"}, "root or working directory"},
		{"ip netns exec of a shell is refused", []string{"ip", "netns", "exec", "x", "bash"}, "bash is not allowed"},
		{"ip -n exec of a shell is refused", []string{"ip", "-n", "x", "netns", "exec", "y", "sh"}, "sh is not allowed"},
		{"ip batch files are refused", []string{"ip", "-batch", "/tmp/x"}, "batch"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := p.Allow(c.argv)
			switch {
			case c.deny == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.deny != "" && err == nil:
				t.Fatalf("allowed %q", c.argv)
			case c.deny != "" && !strings.Contains(err.Error(), c.deny):
				t.Fatalf("refusal %q does not say %q", err, c.deny)
			}
		})
	}
}

func TestRunLineAppliesThePolicyToTypedLinesOnly(t *testing.T) {
	r := &Runner{Env: &Env{}, Policy: ServePolicy()}
	res, err := r.RunLine(t.Context(), "exec -- sh -c 'touch /tmp/x'")
	if err != nil {
		t.Fatal(err)
	}
	if res.Err == nil || !strings.Contains(res.Err.Error(), "sh is not allowed here") {
		t.Fatalf("a typed shell ran: %+v", res)
	}
	res, _ = r.RunLine(t.Context(), "spawn c net -- sh")
	if res.Err == nil || !strings.Contains(res.Err.Error(), "sh is not allowed here") {
		t.Fatalf("a typed spawn of a shell ran: %+v", res)
	}
	st, err := ParseLine("lesson.md", 3, "exec -- sh -c true")
	if err != nil || len(st.Program) != 3 {
		t.Fatalf("a lesson's exec records no program: %v %v", st, err)
	}
}
