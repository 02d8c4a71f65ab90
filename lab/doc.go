// Package lab is nslab's engine: it creates, changes and removes the network
// namespaces, links, addresses and routes that a lesson needs, runs code
// inside a namespace (the namespace switch, Do), and cleans up after itself.
//
// Everything a Session creates carries the "nslab-" prefix on the system and
// is written to a journal under /run/nslab before it is created, so a run
// that was killed can still be undone by Cleanup, and nothing the lab did not
// create is ever touched.
//
// A network namespace matters only when a socket (or netlink handle) is
// created: Do locks a fresh goroutine to its OS thread, enters the namespace,
// runs the function, and goes back. The socket keeps its namespace for life;
// the thread returns to the Go runtime's pool. If going back fails, the
// goroutine exits still locked, and the runtime throws that thread away.
package lab
