package lab

import (
	"errors"
	"fmt"
)

// Errors callers branch on. Every error the lab returns wraps one of these
// where it applies, so errors.Is works through the added context.
var (
	// ErrNotPrivileged means the caller lacks a capability the operation
	// needs (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_RAW).
	ErrNotPrivileged = errors.New("not privileged (run as root, or grant CAP_NET_ADMIN and CAP_SYS_ADMIN)")
	// ErrUnsupported means the kernel or platform lacks the feature (SCTP,
	// a namespace type, a link type, or a non-Linux OS).
	ErrUnsupported = errors.New("not supported here")
	// ErrNotFound means a namespace, link or process does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means a resource of that name already exists.
	ErrExists = errors.New("already exists")
	// ErrInvalid means the input (a name, address or option) is malformed.
	ErrInvalid = errors.New("invalid input")
	// ErrNotOwned means the resource carries the lab prefix but no journal
	// records it: someone else made it, and the lab leaves it alone.
	ErrNotOwned = errors.New("not created by nslab")
)

// RestoreError reports that a thread could not go back to the namespace it
// started in. The thread that failed has been discarded (its goroutine exited
// locked), so no later code runs in the wrong namespace; the caller only
// learns that the operation's cleanup path was taken.
type RestoreError struct {
	Netns string // the namespace the thread was stuck in
	Err   error
}

func (e *RestoreError) Error() string {
	return fmt.Sprintf("could not return from network namespace %s (thread discarded): %v", e.Netns, e.Err)
}

func (e *RestoreError) Unwrap() error { return e.Err }
