// Package examples holds the Go behind nslab's lessons as complete
// programs, one a directory, built on the libraries a reader would use
// (github.com/vishvananda/netns, github.com/vishvananda/netlink,
// golang.org/x/sys/unix, the runtime's LockOSThread), never on nslab's own
// packages. A lesson's go blocks are excerpts of these files, checked
// against them by the scenarios tests; the tests here build every program
// and run them against namespaces they make, judging with ss, lsns, ip and
// nsenter. See README.md.
package examples
