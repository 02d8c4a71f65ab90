// Package proxy is nslab's proxy core: one process that listens in many
// network namespaces at once and forwards what it accepts, so that hundreds
// of tenants with the same (conflicting) addresses are served by a handful
// of OS threads.
//
// The idea: a network namespace matters only when a socket is made. The
// proxy enters a tenant's namespace on a short-lived locked thread, makes
// every socket of that tenant there (lab.BindIn), and goes back; the sockets
// keep the tenant's namespace for life and are served, like any other, by
// the Go netpoller. Upstream connections are made the same way (lab.Dialer).
//
// A Route says where to listen and where to forward: "alpha/tcp/127.0.0.1:8080"
// to "alpha/tcp/10.0.0.1:9000". A route whose namespace is {tenant} is a
// template: AddTenant("alpha") binds one copy of it inside alpha. Routes
// forward TCP (spliced, half-close aware), UDP (per-client sessions with an
// idle timeout) and SCTP, or, in http mode, reverse-proxy by Host header or
// path prefix to tenants whose backends all sit at the same address.
//
// Four strategies show what the binding technique saves (see Strategy):
// shared, thread-per-namespace, process-per-namespace and blocking-accept.
//
// A proxy runs in-process (New), or as a daemon worker controlled over a
// unix socket (Run, `nslab proxy`, StartWorker and Client).
package proxy
