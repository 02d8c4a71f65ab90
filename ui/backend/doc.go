// Package backend connects the UI to the lab. Source implements ui.Source:
// it reads the watched processes (lab/probe) and the lab's topology (the
// session's Links) for the live panels. Lab implements ui.Lab on the
// lab/script runner. The ui package itself only sees the interfaces, so
// that it never touches the kernel and its tests run without root.
package backend
