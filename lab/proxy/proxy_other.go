//go:build !linux

package proxy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"

	"github.com/nslab/nslab/lab"
)

// The proxy needs Linux namespaces; elsewhere it builds and says so.

func unsupported() error {
	return fmt.Errorf("the nslab proxy needs Linux network namespaces, and this is %s: %w", runtime.GOOS, lab.ErrUnsupported)
}

// Proxy is a running proxy (Linux only).
type Proxy struct{}

func New(Config) (*Proxy, error)              { return nil, unsupported() }
func (p *Proxy) AddTenant(...string) error    { return unsupported() }
func (p *Proxy) RemoveTenant(...string) error { return unsupported() }
func (p *Proxy) Tenants() []string            { return nil }
func (p *Proxy) Resync() error                { return unsupported() }
func (p *Proxy) Listeners() []Listener        { return nil }
func (p *Proxy) Stats() Stats                 { return Stats{} }
func (p *Proxy) Close() error                 { return nil }
func (p *Proxy) Start(context.Context) error  { return unsupported() }
func (p *Proxy) AddRoute(Route) error         { return unsupported() }
func (p *Proxy) RemoveRoute(string) error     { return unsupported() }
func (p *Proxy) Routes() []Route              { return nil }
func Run(context.Context, Config) error       { return unsupported() }
func (p *Proxy) Reload(Config) error          { return unsupported() }
func (p *Proxy) Metrics() Metrics             { return Metrics{} }

// Daemon is the proxy daemon (Linux only).
type Daemon struct {
	Load   func() (Config, error)
	Notify bool
}

func (d Daemon) Run(context.Context) error { return unsupported() }
func StartWorker(*lab.Session, string, Config) (*Client, *lab.Proc, error) {
	return nil, nil, unsupported()
}
func NewLogger(w io.Writer, format, level string) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}
