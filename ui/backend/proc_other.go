//go:build !linux

package backend

import "github.com/nslab/nslab/lab"

// ownNet reports whether a child has a network namespace of its own
// (never: children exist on Linux only).
func ownNet(*lab.Proc) bool { return false }
