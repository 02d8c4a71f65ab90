package proxy_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/nslab/nslab/lab/proxy"
)

// curl asks a worker's control socket as an operator would, and returns
// the status code and the body.
func curl(t *testing.T, sock, method, path string, body ...string) (int, string) {
	t.Helper()
	args := []string{"-s", "-o", "-", "-w", "\n%{http_code}", "--unix-socket", sock, "-X", method, "http://proxy" + path}
	if len(body) > 0 {
		args = append(args, "--data-binary", body[0])
	}
	out, err := exec.Command("curl", args...).Output()
	if err != nil {
		t.Fatalf("curl %s %s: %v", method, path, err)
	}
	s := strings.TrimRight(string(out), "\n")
	i := strings.LastIndex(s, "\n")
	var code int
	fmt.Sscan(s[i+1:], &code)
	return code, s[:max(i, 0)]
}

// metricFamilies parses Prometheus text with Prometheus's own parser.
func metricFamilies(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("/metrics does not parse as Prometheus text: %v\n%s", err, text)
	}
	return fams
}

// value is the sample of family name whose labels include want.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		ok := true
		for k, v := range want {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			ok = ok && found
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// /metrics on the control socket (and on a TCP address) parses with
// Prometheus's text parser, and says what happened: connections and bytes
// per route and tenant, the process's threads, fds and memory.
func TestMetricsParseWithPrometheusAndCount(t *testing.T) {
	w := newWorld(t, 2, true)
	maddr := freeAddr(t)
	c, _, err := proxy.StartWorker(w.s, "metrics", proxy.Config{Rescan: -1, Routes: tenantRoutes(), Tenants: w.names, Metrics: maddr})
	if err != nil {
		t.Fatal(err)
	}
	defer w.s.Stop("metrics", 5*time.Second)
	defer c.Close()
	for range 5 {
		hello(t, w.nss[w.names[0]], "127.0.0.1:8080")
	}
	var text string
	waitFor(func() bool { // a connection's end is counted when it is done
		code, body := curl(t, c.Path(), "GET", "/metrics")
		text = body
		f := metricFamilies(t, body)
		n, _ := value(f, "nslab_proxy_connections_active", map[string]string{"route": "web", "tenant": w.names[0]})
		return code == 200 && n == 0
	})
	fams := metricFamilies(t, text)
	for _, c := range []struct {
		name   string
		labels map[string]string
		check  func(float64) bool
		want   string
	}{
		{"nslab_proxy_connections_total", map[string]string{"route": "web", "tenant": w.names[0]}, func(v float64) bool { return v == 5 }, "5"},
		{"nslab_proxy_connections_total", map[string]string{"route": "web", "tenant": w.names[1]}, func(v float64) bool { return v == 0 }, "0"},
		{"nslab_proxy_sent_bytes_total", map[string]string{"route": "web", "tenant": w.names[0]}, func(v float64) bool { return v == float64(5*(len(w.names[0])+1)) }, "the greetings' bytes"},
		{"nslab_proxy_tenants", nil, func(v float64) bool { return v == 2 }, "2"},
		{"nslab_proxy_listeners", nil, func(v float64) bool { return v == 4 }, "4"},
		{"nslab_proxy_netns_held", nil, func(v float64) bool { return v == 2 }, "2 (the host's is not held)"},
		{"nslab_proxy_limit_hits_total", map[string]string{"route": "web", "limit": "accept_rate"}, func(v float64) bool { return v == 0 }, "0"},
		{"go_threads", nil, func(v float64) bool { return v >= 1 && v < 64 }, "a few"},
		{"process_open_fds", nil, func(v float64) bool { return v > 4 }, "some"},
		{"process_resident_memory_bytes", nil, func(v float64) bool { return v > 1<<20 }, "over 1 MiB"},
		{"process_start_time_seconds", nil, func(v float64) bool { return v > float64(time.Now().Add(-time.Hour).Unix()) }, "this hour"},
	} {
		v, ok := value(fams, c.name, c.labels)
		if !ok || !c.check(v) {
			t.Errorf("%s%v = %v (found %v), want %s", c.name, c.labels, v, ok, c.want)
		}
	}
	// The same on the TCP address, which serves nothing else.
	resp, err := http.Get("http://" + maddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "version=0.0.4") {
		t.Errorf("GET /metrics on TCP: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	metricFamilies(t, string(body))
	if resp, err := http.Get("http://" + maddr + "/stats"); err == nil {
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("the metrics address answered /stats: %d; it must serve /metrics only", resp.StatusCode)
		}
		resp.Body.Close()
	}
}

// freeAddr is a TCP address on 127.0.0.1 that nothing listened on a
// moment ago.
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// The control API says 409 for a tenant that exists, and adds none of a
// request that holds one (curl, as an operator would ask).
func TestPostingATenantThatExistsIs409(t *testing.T) {
	w := newWorld(t, 2, true)
	c, _, err := proxy.StartWorker(w.s, "conflict", proxy.Config{Rescan: -1, Routes: tenantRoutes(), Tenants: w.names[:1]})
	if err != nil {
		t.Fatal(err)
	}
	defer w.s.Stop("conflict", 5*time.Second)
	defer c.Close()
	code, body := curl(t, c.Path(), "POST", "/tenants?name="+w.names[0])
	if code != http.StatusConflict || !strings.Contains(body, "already exists") {
		t.Errorf("POST an existing tenant: %d %q, want 409 saying it exists", code, body)
	}
	code, _ = curl(t, c.Path(), "POST", "/tenants?name="+w.names[1]+"&name="+w.names[0])
	if code != http.StatusConflict {
		t.Errorf("POST a new and an existing tenant: %d, want 409", code)
	}
	if ts, _ := c.Tenants(); len(ts) != 1 {
		t.Errorf("after a refused request the tenants are %v, want only %s", ts, w.names[0])
	}
	if code, _ := curl(t, c.Path(), "POST", "/tenants?name="+w.names[1]); code != 200 {
		t.Errorf("POST a new tenant: %d", code)
	}
	if code, _ := curl(t, c.Path(), "POST", "/tenants?name=x%3D..%2Fetc"); code != http.StatusBadRequest {
		t.Errorf("POST a tenant with a relative path: %d, want 400", code)
	}
}

// Tenants added over the API are kept in the state file and bound again
// by the next proxy; those removed are forgotten.
func TestStateFileKeepsTenantsAddedOverTheAPI(t *testing.T) {
	w := newWorld(t, 3, true)
	state := filepath.Join(t.TempDir(), "state.json")
	cfg := proxy.Config{Rescan: -1, Routes: tenantRoutes(), Tenants: w.names[:1], State: state}
	c, _, err := proxy.StartWorker(w.s, "state1", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddTenant(w.names[1], w.names[2]); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveTenant(w.names[2]); err != nil {
		t.Fatal(err)
	}
	c.Close()
	w.s.Stop("state1", 5*time.Second)
	var st struct{ Tenants []string }
	b, _ := os.ReadFile(state)
	if err := json.Unmarshal(b, &st); err != nil || len(st.Tenants) != 1 || st.Tenants[0] != w.names[1] {
		t.Fatalf("state file %s = %s (%v), want the one tenant added and kept", state, b, err)
	}
	c, _, err = proxy.StartWorker(w.s, "state2", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.s.Stop("state2", 5*time.Second)
	defer c.Close()
	if ts, _ := c.Tenants(); strings.Join(ts, ",") != strings.Join(w.names[:2], ",") {
		t.Errorf("after a restart the tenants are %v, want %v (the config's and the API's)", ts, w.names[:2])
	}
	if got := hello(t, w.nss[w.names[1]], "127.0.0.1:8080"); got != w.names[1] {
		t.Errorf("the tenant from the state file answered %q", got)
	}
}
