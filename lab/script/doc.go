// Package script is the lab command language: one command a line, mirroring
// iproute2 and nsenter (`netns add alpha`, `link add va type veth peer vb
// netns beta`, `ping 10.0.0.2 -n alpha`), plus `expect` checks that can wait
// (`expect link eth0 -n alpha up within 60s`).
//
// Parse turns text into Stmts (with positions for every error); a Runner
// executes them against a lab.Session and keeps the state a lesson builds up
// (named sockets, the last output, watched processes). Every command also
// says what it looks like in a shell (Shell) and in Go (Go), for learners.
// Scenarios, the TUI's prompt and `nslab run` all go through this package.
package script
