package backend

import "github.com/nslab/nslab/lab/script"

// Restrict makes every line the learner types go through p (nslab serve:
// an allowlist of tools, no shell); the lessons' own blocks run as
// written.
func (l *Lab) Restrict(p *script.Policy) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.policy = p
	l.run.Policy = p
}
