package script_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
)

// The proxy commands drive a real worker: one process answering on the same
// address in two namespaces, each forwarding to its own backend.
func TestProxyCommandsServeConflictingAddresses(t *testing.T) {
	r, s := newRunner(t)
	a, b, px := labtest.Name("pa"), labtest.Name("pb"), labtest.Name("px")
	run(t, r, fmt.Sprintf(`
netns add %[1]s
netns add %[2]s
link set lo up -n %[1]s
link set lo up -n %[2]s
listen tcp 127.0.0.2:9000 -n %[1]s as back-a
listen tcp 127.0.0.2:9000 -n %[2]s as back-b
proxy start %[3]s strategy=shared route {tenant}/tcp/127.0.0.1:8080={tenant}/tcp/127.0.0.2:9000 tenants %[1]s
expect output contains 1 listener(s)
connect tcp 127.0.0.1:8080 -n %[1]s send hi
expect output contains echo: hi
proxy add %[3]s %[2]s
connect tcp 127.0.0.1:8080 -n %[2]s send there
expect output contains echo: there
expect sockets %[3]s in %[1]s >= 1
expect sockets %[3]s in %[2]s >= 1
expect sockets self in %[1]s == 1
expect threads %[3]s <= 40
proxy stats %[3]s
expect output contains 2 tenant(s)
proxy del %[3]s %[2]s
expect sockets %[3]s in %[2]s == 0 within 5s
proxy stop %[3]s
`, a, b, px))
	if got := r.Env.Proxies(); len(got) != 0 {
		t.Errorf("proxies after stop = %v", got)
	}
	if _, ok := s.Proc(px); ok {
		t.Errorf("the stopped proxy is still a process of the session")
	}
	// Unknown names are caught before anything runs, with a suggestion.
	res, err := r.RunLine(context.Background(), "proxy add "+px+"x "+a)
	if err != nil || res.Err == nil || !strings.Contains(res.Err.Error(), "unknown process") {
		t.Errorf("proxy add to a missing proxy: %v / %v", err, res.Err)
	}
}
