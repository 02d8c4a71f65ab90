package proxy

import "github.com/nslab/nslab/lab/probe"

// Stats is a snapshot of a proxy: per-route counters and what the process
// (and, for process-per-namespace, its children) costs.
type Stats struct {
	Name      string       `json:"name"`
	Strategy  Strategy     `json:"strategy"`
	Tenants   []string     `json:"tenants"`
	Listeners int          `json:"listeners"`
	Routes    []RouteStats `json:"routes"`
	// Procs is this process first, then its per-namespace children.
	Procs      []ProcStats `json:"procs"`
	Threads    int         `json:"threads"`        // summed over Procs
	RSS        int64       `json:"rss_bytes"`      // summed over Procs
	RSSAnon    int64       `json:"rss_anon_bytes"` // summed over Procs
	Goroutines int         `json:"goroutines"`
	GoMaxProcs int         `json:"gomaxprocs"` // this process's Ps now (scale_procs moves it)
	FDs        int         `json:"fds"`
	// Open is the TCP connections served now (against max_conns);
	// Namespaces the network namespaces the proxy holds, by a handle or
	// by its sockets alone (one per namespace a tenant or route uses).
	Open       int64 `json:"open_connections"`
	Namespaces int   `json:"netns_held"`
	// Go is where this process's Go runtime memory goes.
	Go GoMem `json:"go"`
}

// GoMem is the Go runtime's own account of a process's memory, from
// runtime/metrics: what RSS is made of, beyond the binary's pages.
type GoMem struct {
	Heap     uint64 `json:"heap_bytes"`     // live and not yet collected objects
	Stacks   uint64 `json:"stacks_bytes"`   // goroutine stacks (2 KiB at least each)
	Free     uint64 `json:"free_bytes"`     // heap pages free, still held
	Runtime  uint64 `json:"runtime_bytes"`  // GC metadata, spans, poll descriptors, ...
	Released uint64 `json:"released_bytes"` // given back to the OS (not resident)
}

// RouteStats counts one route in one tenant.
type RouteStats struct {
	Route    string `json:"route"`
	Tenant   string `json:"tenant,omitempty"`
	Listen   string `json:"listen"`
	Target   string `json:"target"`
	Conns    uint64 `json:"conns"`     // accepted connections, UDP sessions or HTTP requests
	Active   int64  `json:"active"`    // open now
	BytesIn  uint64 `json:"bytes_in"`  // client to target
	BytesOut uint64 `json:"bytes_out"` // target to client
	Errors   uint64 `json:"errors"`    // failed connects, resets, bad gateways
	// Limits counts, per limit (max_conns, tenant_max_conns, accept_rate,
	// idle_timeout, header_timeout), the times it stopped or ended a client.
	Limits map[string]uint64 `json:"limits_hit,omitempty"`
}

// ProcStats is one process's cost, from /proc/PID/status.
type ProcStats struct {
	PID     int    `json:"pid"`
	Name    string `json:"name"`
	Threads int    `json:"threads"`
	RSS     int64  `json:"rss_bytes"`
	// RSSAnon is the part of RSS that is the process's own memory (heap,
	// stacks); the rest is pages of the binary and libraries, shared.
	RSSAnon int64 `json:"rss_anon_bytes"`
}

// ReadProcStats reads a process's thread count and resident memory
// (lab/probe's reader of /proc/PID/status).
func ReadProcStats(pid int, name string) (ProcStats, error) {
	ps := ProcStats{PID: pid, Name: name}
	st, err := probe.ReadStatus(pid)
	if err != nil {
		return ps, err
	}
	ps.Threads, ps.RSS, ps.RSSAnon = st.Threads, int64(st.VmRSS), int64(st.RssAnon)
	return ps, nil
}

// Total sums the counters of every route (and tenant).
func (s Stats) Total() RouteStats {
	var t RouteStats
	for _, r := range s.Routes {
		t.Conns += r.Conns
		t.Active += r.Active
		t.BytesIn += r.BytesIn
		t.BytesOut += r.BytesOut
		t.Errors += r.Errors
	}
	return t
}

// ListenerKey identifies a listener: a namespace (by inode, so a namespace
// deleted and recreated under the same name is a different one), a
// protocol and the address asked for. Every tenant may use the same address.
type ListenerKey struct {
	Inode uint64
	Proto string
	Addr  string
}

// Listener describes one bound socket.
type Listener struct {
	Key    ListenerKey
	Route  string
	Tenant string
	Netns  string
	Addr   string // as bound (the real port when asked for :0)
}
