package backend

import (
	"context"
	"errors"
	"os"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/ui"
)

// errNoScript is what the prompt says until the command language is in.
var errNoScript = errors.New("the lab command language (lab/script) is not in this build yet")

// Lab is the runner the UI drives. Until lab/script is merged it runs
// nothing and lists no scenario; the panels still show this process.
type Lab struct {
	sess *lab.Session
}

// NewLab returns the runner for a session.
func NewLab(sess *lab.Session) *Lab { return &Lab{sess: sess} }

// Close stops what the runner started (the session is closed by its owner).
func (l *Lab) Close() error { return nil }

// Watched is what the panels follow: this process and spawned children.
func (l *Lab) Watched() []Watched { return []Watched{{"self", os.Getpid()}} }

func (l *Lab) Scenarios() []ui.Scenario                   { return nil }
func (l *Lab) Prepare(context.Context, string, int) error { return errNoScript }
func (l *Lab) Exec(context.Context, string) ui.Result     { return ui.Result{Err: errNoScript} }
func (l *Lab) Complete(string, int) []string              { return nil }
func (l *Lab) Commands() []string                         { return nil }
func (l *Lab) RunStep(_ context.Context, _ string, _, _ int, ev chan<- ui.Event) {
	close(ev)
}
