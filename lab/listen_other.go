//go:build !linux

package lab

import (
	"context"
	"net"
	"time"
)

// Socket is one socket for BindIn to make (Linux only).
type Socket struct {
	Network, Addr string
	KeepAlive     time.Duration
	Raw           bool
	Listener      net.Listener
	Packet        net.PacketConn
}

func (s *Socket) Stream() bool { return false }
func (s *Socket) FD() int      { return -1 }
func (s *Socket) Close() error { return nil }

// BindIn makes sockets inside a namespace (Linux only).
func BindIn(*Netns, []Socket) error { return unsupported("listen") }

// ListenSCTPIn makes an SCTP listener inside a namespace (Linux only).
func ListenSCTPIn(*Netns, string, string) (net.Listener, error) { return nil, unsupported("listen") }

// ListenRawTCPIn listens on TCP through the raw-fd path (Linux only).
func ListenRawTCPIn(*Netns, string, string) (net.Listener, error) { return nil, unsupported("listen") }

// ReserveFDs grows the fd table (Linux only).
func ReserveFDs(int) (int, error) { return 0, unsupported("reserve file descriptors") }

// Dialer connects from inside a namespace (Linux only).
type Dialer struct {
	Netns   *Netns
	Timeout time.Duration
}

func (d *Dialer) Dial(string, string) (net.Conn, error) { return nil, unsupported("connect") }
func (d *Dialer) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, unsupported("connect")
}

// Bind is one namespace's share of a BindEach (Linux only).
type Bind struct {
	Netns *Netns
	Socks []Socket
	Err   error
}

// BindEach makes sockets in many namespaces (Linux only).
func BindEach([]Bind) error { return unsupported("listen") }
