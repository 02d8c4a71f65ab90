//go:build !linux

package lab

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"time"
)

// Everything in this package needs Linux namespaces; elsewhere the module
// builds, and every entry point says why it cannot run.

func unsupported(what string) error {
	return fmt.Errorf("%s: nslab needs Linux namespaces, and this is %s: %w", what, runtime.GOOS, ErrUnsupported)
}

// Netns is a network namespace handle (Linux only).
type Netns struct{}

func (n *Netns) Name() string      { return "" }
func (n *Netns) Close() error      { return nil }
func (n *Netns) Fd() int           { return -1 }
func (n *Netns) Inode() uint64     { return 0 }
func (n *Netns) String() string    { return "unsupported" }
func (n *Netns) Equal(*Netns) bool { return false }

// Session is a lab run (Linux only).
type Session struct{}

// Options configure a Session.
type Options struct{ RunDir string }

// Check is one line of `nslab doctor`.
type Check struct {
	Name, Detail, Feature string
	Status                Status
	Required              bool
}

// Status of a doctor check.
type Status string

const (
	StatusOK      Status = "ok"
	StatusMissing Status = "missing"
	StatusNo      Status = "no"
	StatusWarn    Status = "warning"
)

// CleanupReport says what Cleanup did.
type CleanupReport struct {
	Removed, Gone, Live, Foreign, Failed, StrayInit []string
	Journals                                        int
}

func (r CleanupReport) Empty() bool { return true }

func NewSession(Options) (*Session, error)         { return nil, unsupported("start a lab session") }
func (s *Session) Close() error                    { return nil }
func (s *Session) Owned() []Entry                  { return nil }
func CheckPrivileges() error                       { return unsupported("check privileges") }
func Do(*Netns, func() error) error                { return unsupported("enter a namespace") }
func Init()                                        {}
func Cleanup(string) (CleanupReport, error)        { return CleanupReport{}, unsupported("clean up") }
func Ready([]Check) bool                           { return false }
func Features([]Check) map[string]bool             { return map[string]bool{} }
func SCTPSupported() error                         { return unsupported("SCTP") }
func OpenNetns(string) (*Netns, error)             { return nil, unsupported("open a namespace") }
func OpenNetnsPID(int) (*Netns, error)             { return nil, unsupported("open a namespace") }
func OpenNetnsPath(string, string) (*Netns, error) { return nil, unsupported("open a namespace") }
func Doctor() []Check {
	return []Check{{Name: "operating system", Status: StatusMissing, Required: true, Detail: unsupported("run").Error()}}
}
func ListenIn(*Netns, string, string) (net.Listener, error) { return nil, unsupported("listen") }
func ListenPacketIn(*Netns, string, string) (net.PacketConn, error) {
	return nil, unsupported("listen")
}
func DialIn(*Netns, string, string, time.Duration) (net.Conn, error) {
	return nil, unsupported("connect")
}

func journalLocked(*os.File) bool { return false }

// StillThere returns the resources that still exist (Linux only).
func StillThere([]Entry) []string { return nil }

// RegisterInit registers a re-exec entry point (Linux only).
func RegisterInit(string, func()) {}

// JournalPath is the session's journal file (Linux only).
func (s *Session) JournalPath() string { return "" }
