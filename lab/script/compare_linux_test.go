package script_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab/probe"
	"github.com/nslab/nslab/lab/script"
)

// Three real workers, one per strategy, over the same six tenants: the
// table counts each one's process tree (a process per namespace is seven
// processes), the checks hold the ordering the lessons teach, and a proxy
// stopped since keeps the row it had as it stopped.
func TestCompareCountsProcessTreesAndChecksTheOrdering(t *testing.T) {
	r, s := newRunner(t)
	ns, sh, th, pr := labtest.Name("cm"), labtest.Name("csh"), labtest.Name("cth"), labtest.Name("cpr")
	run(t, r, fmt.Sprintf(`
netns add %[1]s{1..6}
listen tcp 127.0.0.1:7499 as svc
proxy start %[2]s strategy=shared route {tenant}/tcp/127.0.0.1:80=host/tcp/127.0.0.1:7499 tenants %[1]s{1..3}
proxy add %[2]s %[1]s{4..6}
proxy start %[3]s strategy=thread-per-namespace route {tenant}/tcp/127.0.0.1:81=host/tcp/127.0.0.1:7499 tenants %[1]s{1..6}
proxy start %[4]s strategy=process-per-namespace route {tenant}/tcp/127.0.0.1:82=host/tcp/127.0.0.1:7499 tenants %[1]s{1..6}
proxy stats %[4]s
expect output contains processes: 7
expect threads %[3]s >= 6 within 10s
compare %[2]s %[3]s %[4]s
`, ns, sh, th, pr))
	tab := r.Env.Results()
	if tab == nil || len(tab.Rows) != 3 || tab.Command != fmt.Sprintf("compare %s %s %s", sh, th, pr) {
		t.Fatalf("the table the runner keeps: %+v", tab)
	}
	for _, row := range tab.Rows {
		if row.Error != "" || row.Tenants != 6 || row.BindMs <= 0 || row.FDs == 0 {
			t.Errorf("row %+v", row)
		}
		// The row is the proxy's tree as the probe reads it now.
		pid, _ := s.Proc(row.Proxy)
		snap, err := probe.Take(pid.PID, probe.Options{Tree: true})
		if err != nil {
			t.Fatal(err)
		}
		if snap.Tree.Total.Processes != row.Processes {
			t.Errorf("%s: %d processes in the table, %d in its tree", row.Proxy, row.Processes, snap.Tree.Total.Processes)
		}
	}
	byName := map[string]script.Row{}
	for _, row := range tab.Rows {
		byName[row.Proxy] = row
	}
	if p := byName[pr]; p.Processes != 7 || p.Strategy != "process-per-namespace" || p.Threads < 7*2 {
		t.Errorf("process per namespace: %+v, want 7 processes with their own threads", p)
	}
	if p := byName[sh]; p.Processes != 1 || p.Strategy != "shared" {
		t.Errorf("shared: %+v", p)
	}
	res, err := r.RunLine(context.Background(), "compare "+sh+" "+th+" "+pr)
	if err != nil || res.Err != nil {
		t.Fatal(err, res.Err)
	}
	lines := strings.Split(res.Output, "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "proxy") || !strings.Contains(lines[0], "bind time") ||
		!strings.HasPrefix(lines[3], pr) || !strings.Contains(lines[3], "process-per-namespace") || !strings.HasPrefix(lines[4], "per tenant: threads") {
		t.Errorf("the table:\n%s", res.Output)
	}

	check := func(line string) script.Result {
		t.Helper()
		res, err := r.RunLine(context.Background(), line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return res
	}
	for _, line := range []string{
		fmt.Sprintf("expect compare threads per tenant %s < %s << %s", sh, th, pr),
		fmt.Sprintf("expect compare pss %s > %s", pr, sh),
		fmt.Sprintf("expect compare processes %s == 7", pr),
		fmt.Sprintf("expect compare processes per tenant %s < 1", th),
	} {
		if res := check(line); res.Err != nil {
			t.Errorf("%s: %v", line, res.Err)
		}
	}
	// A false claim fails, saying what it saw.
	res = check(fmt.Sprintf("expect compare threads %s >> %s", sh, pr))
	if res.Err == nil || !script.IsCheckFailure(res.Err) || !strings.Contains(res.Err.Error(), sh+" ") || !strings.Contains(res.Err.Error(), "at least double") {
		t.Errorf("a false ordering: %v", res.Err)
	}
	// The output check names the command whose output it read.
	res = check("expect output contains per tenant")
	if res.Err != nil || !strings.Contains(res.Output, "`compare "+sh) {
		t.Errorf("output check: %q %v", res.Output, res.Err)
	}

	// A stopped proxy keeps its last row, marked.
	run(t, r, fmt.Sprintf("proxy stop %[1]s\ncompare %[2]s %[1]s\nexpect compare threads %[2]s << %[1]s", pr, sh))
	tab = r.Env.Results()
	if len(tab.Rows) != 2 || !tab.Rows[1].Stopped || tab.Rows[1].Processes != 7 {
		t.Errorf("after stop: %+v", tab.Rows)
	}
	if res := check("compare " + sh + "x"); res.Err == nil || !strings.Contains(res.Err.Error(), "did you mean `"+sh+"`") {
		t.Errorf("comparing an unknown proxy: %v", res.Err)
	}
}
