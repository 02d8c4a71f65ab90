package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab/proxy/bench"
)

// A small `nslab bench proxy --json` run end to end: every figure a user
// reads is there and plausible, and nothing of the run is left behind.
func TestBenchProxySmallRunReportsEveryFigure(t *testing.T) {
	labtest.Long(t, "starts several proxy workers")
	var r bench.Report
	nslabJSON(t, nil, &r, "bench", "proxy", "--json", "--count", "10", "--mib", "8", "--process-namespaces", "2", "--socat-namespaces", "2")
	if len(r.Strategies) != 4 {
		t.Errorf("%d strategies, want 4", len(r.Strategies))
	}
	for _, st := range r.Strategies {
		if st.Listeners == 0 || st.Threads == 0 || st.RSSMiB == 0 {
			t.Errorf("%s: %d listeners, %d threads, %.1f MiB", st.Name, st.Listeners, st.Threads, st.RSSMiB)
		}
	}
	for name, v := range map[string]float64{
		"direct": r.Direct, "proxy": r.Proxied, "direct, same process": r.DirectSameProc,
		"echo direct": r.EchoDirectUs, "echo proxy": r.EchoProxyUs, "echo direct, same process": r.EchoDirectSameProc,
	} {
		if v <= 0 {
			t.Errorf("%s: %v", name, v)
		}
	}
	if len(r.LoadSpread) == 0 || r.LoadSpread[0].Threads == 0 {
		t.Errorf("load spread: %+v", r.LoadSpread)
	}
	ps, _ := exec.Command("pgrep", "-fa", "^nslab-(bench-server|proxy-worker:bench)").Output()
	if strings.TrimSpace(string(ps)) != "" {
		t.Errorf("processes left after the bench:\n%s", ps)
	}
}

// Counts that would measure nothing are refused before anything is made.
func TestBenchProxyRefusesEmptyCounts(t *testing.T) {
	for _, args := range [][]string{{"--count", "0"}, {"--mib", "-1"}, {"--socat-namespaces", "0"}} {
		_, stderr, code := nslab(t, append([]string{"bench", "proxy"}, args...)...)
		if code != 2 || !strings.Contains(stderr, args[0]+" "+args[1]+": give at least 1") {
			t.Errorf("bench proxy %v: exit %d, %q; want 2 and what to give", args, code, stderr)
		}
	}
}

// `nslab bench netns` at a small size: a row per count, every figure
// there, nothing left.
func TestBenchNetnsSmallRun(t *testing.T) {
	labtest.RequireRoot(t)
	var rep struct {
		Schema int `json:"schema"`
		Runs   []struct {
			Count     int     `json:"count"`
			AddTotal  float64 `json:"add_total_ms"`
			SwitchUs  float64 `json:"do_round_trip_us"`
			LeftAfter int     `json:"left_after"`
		} `json:"runs"`
	}
	if nslabJSON(t, nil, &rep, "bench", "netns", "--count", "5", "--json"); len(rep.Runs) != 1 || rep.Schema != jsonSchema {
		t.Fatalf("report %+v", rep)
	}
	if r := rep.Runs[0]; r.Count != 5 || r.AddTotal <= 0 || r.SwitchUs <= 0 || r.LeftAfter != 0 {
		t.Errorf("row %+v", r)
	}
}

// `nslab bench proxy --peers` at a small size: every peer it can run is
// measured (HAProxy and socat when installed, else said to be left out),
// with no failed request, and nothing is left.
func TestBenchProxyPeersSmallRun(t *testing.T) {
	labtest.Long(t, "starts the peers")
	var r bench.PeerReport
	if nslabJSON(t, nil, &r, "bench", "proxy", "--peers", "--json", "--tenants", "3", "--rounds", "1", "--duration", "300ms", "--mib", "8"); len(r.Sets) != 1 || r.Schema != jsonSchema {
		t.Fatalf("report %+v", r)
	}
	seen := map[string]bool{}
	for _, f := range r.Sets[0].Peers {
		seen[f.Peer] = true
		if f.Gbps1 <= 0 || f.NewRate <= 0 || f.KARate <= 0 || f.Failed != 0 {
			t.Errorf("%s: %+v", f.Peer, f)
		}
		if f.Peer == "nslab" && (f.Threads == 0 || f.PSSMiB <= 0 || f.StartMs <= 0 || f.CPUPerConn <= 0) {
			t.Errorf("nslab's idle figures: %+v", f)
		}
		if f.Peer != "direct" && f.RSSMiB < f.PSSMiB { // shared pages count whole in RSS, in part in PSS
			t.Errorf("%s: idle RSS %.1f MiB below its PSS %.1f MiB", f.Peer, f.RSSMiB, f.PSSMiB)
		}
	}
	for _, p := range []string{"nslab", "direct", "haproxy", "socat"} {
		if _, err := exec.LookPath(p); (p == "nslab" || p == "direct" || err == nil) && !seen[p] {
			t.Errorf("peer %s was not measured (%v)", p, r.Missing)
		}
	}
	ps, _ := exec.Command("pgrep", "-fa", "haproxy -f .*bench-peers|nslab-bench-backend:peers").Output()
	if strings.TrimSpace(string(ps)) != "" {
		t.Errorf("processes left after the bench:\n%s", ps)
	}
}
