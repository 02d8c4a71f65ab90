package proxy

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Metrics is what /metrics shows beyond Stats: the process's CPU, start
// time and fd limit, and the proxy-wide connection bound.
type Metrics struct {
	Stats
	CPUSeconds   float64 // user + system, this process
	StartSeconds float64 // since the epoch
	MaxFDs       int
	MaxConns     int
}

// WriteMetrics writes m in the Prometheus text exposition format (version
// 0.0.4): per route and tenant, connections, bytes each way, errors and
// limits hit; the proxy's tenants, listeners and namespace handles; the
// process's threads, descriptors, memory and CPU, under the names the
// Prometheus Go client uses for them (process_*, go_*), so dashboards
// made for Go programs work.
func WriteMetrics(w io.Writer, m Metrics) error {
	bw := bufio.NewWriter(w)
	proxy := m.Name
	family := func(name, typ, help string) {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	sample := func(name string, v float64, labels ...string) {
		bw.WriteString(name)
		if len(labels) > 0 {
			bw.WriteByte('{')
			for i := 0; i+1 < len(labels); i += 2 {
				if i > 0 {
					bw.WriteByte(',')
				}
				fmt.Fprintf(bw, "%s=\"%s\"", labels[i], escapeLabel(labels[i+1]))
			}
			bw.WriteByte('}')
		}
		bw.WriteByte(' ')
		bw.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		bw.WriteByte('\n')
	}
	routes := slices.Clone(m.Routes)
	perRoute := func(name, typ, help string, get func(RouteStats) float64) {
		family(name, typ, help)
		for _, r := range routes {
			sample(name, get(r), "proxy", proxy, "route", r.Route, "tenant", r.Tenant)
		}
	}
	perRoute("nslab_proxy_connections_total", "counter",
		"Connections accepted (TCP, SCTP), sessions opened (UDP) or requests served (http), per route and tenant.",
		func(r RouteStats) float64 { return float64(r.Conns) })
	perRoute("nslab_proxy_connections_active", "gauge",
		"Connections, sessions or requests open now, per route and tenant.",
		func(r RouteStats) float64 { return float64(r.Active) })
	perRoute("nslab_proxy_received_bytes_total", "counter",
		"Bytes from clients to targets (http: request bodies), per route and tenant.",
		func(r RouteStats) float64 { return float64(r.BytesIn) })
	perRoute("nslab_proxy_sent_bytes_total", "counter",
		"Bytes from targets to clients (http: response bodies), per route and tenant.",
		func(r RouteStats) float64 { return float64(r.BytesOut) })
	perRoute("nslab_proxy_errors_total", "counter",
		"Failed upstream connects, resets, time-outs and bad gateways, per route and tenant.",
		func(r RouteStats) float64 { return float64(r.Errors) })
	family("nslab_proxy_limit_hits_total", "counter",
		"Times a limit stopped or ended a client, per route, tenant and limit (max_conns, tenant_max_conns, accept_rate, idle_timeout, header_timeout).")
	for _, r := range routes {
		for k := range nLimits {
			sample("nslab_proxy_limit_hits_total", float64(r.Limits[k.String()]), "proxy", proxy, "route", r.Route, "tenant", r.Tenant, "limit", k.String())
		}
	}
	gauge := func(name, help string, v float64) {
		family(name, "gauge", help)
		sample(name, v, "proxy", proxy)
	}
	gauge("nslab_proxy_tenants", "Tenants bound or waiting for their namespace.", float64(len(m.Tenants)))
	gauge("nslab_proxy_listeners", "Bound sockets.", float64(m.Listeners))
	gauge("nslab_proxy_netns_held", "Network namespaces the proxy holds, by a handle or by its sockets alone.", float64(m.Namespaces))
	gauge("nslab_proxy_open_connections", "TCP connections served now, proxy-wide.", float64(m.Open))
	gauge("nslab_proxy_max_connections", "The proxy-wide bound on open TCP connections (max_conns).", float64(m.MaxConns))
	gauge("nslab_proxy_threads", "OS threads, summed over this process and its per-namespace children.", float64(m.Threads))
	family("nslab_proxy_info", "gauge", "The proxy's strategy, as a label.")
	sample("nslab_proxy_info", 1, "proxy", proxy, "strategy", string(m.Strategy))

	var self ProcStats
	if len(m.Procs) > 0 {
		self = m.Procs[0]
	}
	family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.")
	sample("process_cpu_seconds_total", m.CPUSeconds)
	family("process_open_fds", "gauge", "Number of open file descriptors.")
	sample("process_open_fds", float64(m.FDs))
	family("process_max_fds", "gauge", "Maximum number of open file descriptors.")
	sample("process_max_fds", float64(m.MaxFDs))
	family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
	sample("process_resident_memory_bytes", float64(self.RSS))
	family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.")
	sample("process_start_time_seconds", m.StartSeconds)
	family("go_goroutines", "gauge", "Number of goroutines that currently exist.")
	sample("go_goroutines", float64(m.Goroutines))
	family("go_threads", "gauge", "Number of OS threads created.")
	sample("go_threads", float64(self.Threads))
	family("go_sched_gomaxprocs_threads", "gauge", "The current runtime.GOMAXPROCS setting, or the number of operating system threads that can execute user-level Go code simultaneously.")
	sample("go_sched_gomaxprocs_threads", float64(m.GoMaxProcs))
	return bw.Flush()
}

// escapeLabel escapes a label value: backslash, double quote and newline.
func escapeLabel(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
