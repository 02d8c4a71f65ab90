// Package bench measures the proxy core, as `nslab bench proxy` runs it:
// what each thread strategy costs idle and while binding, throughput and
// latency against a direct connection and socat (Run), and, with --peers,
// the proxy as an operator runs it (`nslab proxy`, the whole binary) side
// by side with HAProxy and socat on the same tenants, in alternated runs
// (Peers).
//
// Everything it makes is in a lab session: namespaces, backends, proxies
// and peers are removed when the session closes, whatever happens.
package bench
