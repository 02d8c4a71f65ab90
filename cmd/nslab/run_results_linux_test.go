package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
)

// A lesson that closes with compare carries the table in --json and writes
// it into --record, and nslab run prints it.
func TestRunCarriesTheResultsTable(t *testing.T) {
	labtest.RequireRoot(t)
	dir := t.TempDir()
	n, a, b := labtest.Name("rr"), labtest.Name("rra"), labtest.Name("rrb")
	body := fmt.Sprintf("\n## Two proxies\n\n```lab\nnetns add %[1]s{1..4}\n"+
		"proxy start %[2]s strategy=shared route {tenant}/tcp/127.0.0.1:80=host/tcp/127.0.0.1:9 tenants %[1]s{1..4}\n"+
		"proxy start %[3]s strategy=thread-per-namespace route {tenant}/tcp/127.0.0.1:81=host/tcp/127.0.0.1:9 tenants %[1]s{1..4}\n"+
		"compare %[2]s %[3]s\n```\n\n```check\nexpect compare processes %[2]s == 1\nexpect compare threads %[2]s < %[3]s within 10s\n```\n", n, a, b)
	file := scenarioFile(t, dir, "rr", "", body)
	env := []string{"NSLAB_RUN_DIR=" + filepath.Join(dir, "run")}

	out, stderr, code := nslabIn(t, env, "", "run", file, "--yes")
	if code != 0 || !strings.Contains(out, "per tenant: threads "+a) || !strings.Contains(out, "bind time") {
		t.Fatalf("exit %d; the table is not printed:\n%s\n%s", code, out, stderr)
	}
	var rep runReport
	nslabJSON(t, env, &rep, "run", file, "--yes", "--json")
	if rep.Results == nil || len(rep.Results.Rows) != 2 {
		t.Fatalf("--json results: %+v", rep.Results)
	}
	r := rep.Results.Rows
	if r[0].Proxy != a || r[0].Strategy != "shared" || r[0].Tenants != 4 || r[0].Processes != 1 || r[0].PSS == 0 || r[0].BindMs <= 0 ||
		r[1].Proxy != b || r[1].Strategy != "thread-per-namespace" || r[1].Threads <= r[0].Threads {
		t.Errorf("--json results: %+v", r)
	}
	rec := filepath.Join(dir, "t.md")
	if _, stderr, code := nslabIn(t, env, "", "run", file, "--yes", "--record", rec); code != 0 {
		t.Fatalf("--record: exit %d\n%s", code, stderr)
	}
	md, _ := os.ReadFile(rec)
	if !strings.Contains(string(md), "## Results") || !strings.Contains(string(md), "| "+a+" | shared | 4 | 1 |") {
		t.Errorf("the transcript lacks the results table:\n%s", md)
	}
}
