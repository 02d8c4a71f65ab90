// Package room is the engine of nslab serve: a room of learners, each with
// the full nslab TUI running in a sandbox of its own, as an unprivileged
// account of its own, on a pseudo-terminal the server relays to the
// learner's SSH session.
//
// The room owns the learners: it starts a learner's lab when they first
// join, keeps it through a dropped connection (for a grace period, so a
// reconnection resumes it), ends it when the TUI quits, the grace period
// or the session time runs out, or the room closes. Each TUI reports its
// progress (lesson, step, checks) on a control socket and takes commands
// on it (go to a step, repaint); the room keeps what the board shows.
// Nothing here draws: the board is ui/board, the SSH server cmd/nslab.
package room
