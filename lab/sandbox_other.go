//go:build !linux

package lab

import (
	"os"
	"time"
)

// The sandbox needs Linux namespaces; elsewhere these say so.

// InSandbox reports false: there is no sandbox off Linux.
func InSandbox() (*SandboxInfo, bool) { return nil, false }

// ChooseMode reports host mode, where every lab command says it cannot run.
func ChooseMode(bool) (Mode, string) { return ModeHost, "not Linux" }

// Sandbox is a running sandbox (Linux only).
type Sandbox struct {
	PID, InitPID int
	IDs          string
}

// StartSandbox fails: no namespaces here.
func StartSandbox(SandboxOptions) (*Sandbox, error) { return nil, unsupported("sandbox") }

func (s *Sandbox) Wait() (int, error)            { return 1, unsupported("sandbox") }
func (s *Sandbox) Done() <-chan struct{}         { return nil }
func (s *Sandbox) Kill() error                   { return unsupported("sandbox") }
func (s *Sandbox) Signal(os.Signal) error        { return unsupported("sandbox") }
func RunInSandbox([]string, string) (int, error) { return 1, unsupported("sandbox") }

// RunningLab is one entry of a user's registry of running labs.
type RunningLab struct {
	PID     int
	Start   uint64
	Mode    Mode
	Command string
	RunDir  string
	Since   time.Time
}

func RegistryDir() (string, error)                  { return "", unsupported("lab registry") }
func Register(RunningLab) (func(), error)           { return func() {}, unsupported("lab registry") }
func RunningLabs() ([]RunningLab, error)            { return nil, unsupported("lab registry") }
func UserNSFix(error) string                        { return "" }
func CleanupFor(string, int) (CleanupReport, error) { return CleanupReport{}, unsupported("clean up") }

// ClaimNames does nothing off Linux.
func ClaimNames() (func(), error) { return func() {}, nil }

// SandboxLab finds nothing off Linux.
func SandboxLab(int) (int, bool) { return 0, false }

// ProcAlive reports false off Linux.
func ProcAlive(int, uint64) bool { return false }

// NameVars is empty off Linux.
func (s *Session) NameVars() []string { return nil }

// ExplainLimit returns err: no sandbox limits here.
func ExplainLimit(err error) error { return err }
