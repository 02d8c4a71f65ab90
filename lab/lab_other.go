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
func (n *Netns) Path() string      { return "" }
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

// NetnsDir is where named network namespaces live (Linux only).
const NetnsDir = "/run/netns"

// IDMap maps a range of IDs inside a user namespace to IDs outside.
type IDMap struct{ Inside, Outside, Count int }

func (m IDMap) String() string { return "" }

// SpawnOptions describe a child in new namespaces (Linux only).
type SpawnOptions struct {
	Name, Hostname, Propagation string
	Namespaces, Command         []string
	UIDMap, GIDMap              []IDMap
	MountProc                   bool
	Setup                       *ChildSetup
}

// Proc is a spawned child (Linux only).
type Proc struct {
	Name string
	PID  int
	Note string
}

func (p *Proc) WriteIDMaps(_, _ []IDMap) error { return unsupported("write id maps") }

// PingOptions tune Ping.
type PingOptions struct {
	Count             int
	Interval, Timeout time.Duration
}

// PingResult is what ping would summarise.
type PingResult struct{ Sent, Received int }

func (r PingResult) OK() bool       { return false }
func (r PingResult) String() string { return "" }

// LinkInfo describes one interface.
type LinkInfo struct {
	Name, Type, Master, PeerName string
	Up, Carrier                  bool
	Addrs                        []string
	Index, PeerIdx               int
}

// Route is one routing table entry.
type Route struct{ Dst, Via, Dev string }

func NamespaceTypes() []string                                    { return nil }
func (s *Session) AddNetns(string) (*Netns, error)                { return nil, unsupported("add a namespace") }
func (s *Session) DelNetns(string) error                          { return unsupported("delete a namespace") }
func (s *Session) NetnsList() []string                            { return nil }
func (s *Session) NetnsOf(string) (*Netns, error)                 { return nil, unsupported("open a namespace") }
func (s *Session) AddVeth(_, _, _, _ string) error                { return unsupported("add a veth") }
func (s *Session) AddBridge(_, _ string) error                    { return unsupported("add a bridge") }
func (s *Session) DelLink(_, _ string) error                      { return unsupported("delete a link") }
func (s *Session) SetLinkUp(_, _ string, _ bool) error            { return unsupported("set a link") }
func (s *Session) SetMaster(_, _, _ string) error                 { return unsupported("set a master") }
func (s *Session) MoveLink(_, _ string, _ *Netns, _ string) error { return unsupported("move a link") }
func (s *Session) Links(string) ([]LinkInfo, error)               { return nil, unsupported("list links") }
func (s *Session) AddAddr(_, _, _ string) error                   { return unsupported("add an address") }
func (s *Session) AddRoute(_, _, _, _ string) error               { return unsupported("add a route") }
func (s *Session) Routes(string) ([]Route, error)                 { return nil, unsupported("list routes") }
func (s *Session) Ping(_, _ string, _ PingOptions) (PingResult, error) {
	return PingResult{}, unsupported("ping")
}
func (s *Session) Spawn(SpawnOptions) (*Proc, error) { return nil, unsupported("spawn") }
func (s *Session) Proc(string) (*Proc, bool)         { return nil, false }
func (s *Session) Procs() []*Proc                    { return nil }
func (s *Session) Kill(string) error                 { return unsupported("kill") }

// Reset removes what the session created (Linux only).
func (s *Session) Reset() error { return unsupported("reset") }

// Stop stops a process the session started (Linux only).
func (s *Session) Stop(string, time.Duration) error { return unsupported("stop a process") }
