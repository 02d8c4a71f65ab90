//go:build linux

package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/nslab/nslab/docs/examples/nsdo"
)

// pingFrom sends one ICMP echo to ip from inside the namespace at nsPath
// ("" for this process's own) and waits a second for the reply, retrying
// twice: a link just brought up may drop the first echo while the
// neighbour is resolved. The socket is made inside the namespace and is
// used from any thread afterwards.
func pingFrom(nsPath, ip string) error {
	var c *icmp.PacketConn
	var raw bool
	err := nsdo.Do(nsPath, func() (err error) {
		c, raw, err = openICMP()
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	dst := net.ParseIP(ip)
	where := nsPath
	if where == "" {
		where = "the host"
	}
	for seq := 1; seq <= 3; seq++ {
		rtt, err := echo(c, raw, dst, seq)
		if err == nil {
			fmt.Printf("ping %s from %s: reply in %s\n", ip, where, rtt.Round(time.Microsecond))
			return nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("ping %s from %s: %w", ip, where, err)
		}
	}
	return fmt.Errorf("ping %s from %s: no reply", ip, where)
}

// openICMP makes an ICMP datagram socket ("ping socket"), which needs no
// privilege where the namespace's net.ipv4.ping_group_range includes our
// group; a new namespace allows no group, so it falls back to a raw
// socket, which needs CAP_NET_RAW.
func openICMP() (*icmp.PacketConn, bool, error) {
	if c, err := icmp.ListenPacket("udp4", "0.0.0.0"); err == nil {
		return c, false, nil
	}
	c, err := icmp.ListenPacket("ip4:icmp", "0.0.0.0")
	return c, true, err
}

// echo sends one echo request and waits for its reply. A datagram socket
// sees only replies to itself (the kernel matches the ID); a raw one sees
// every ICMP packet of the namespace, so it matches ID and sequence.
func echo(c *icmp.PacketConn, raw bool, dst net.IP, seq int) (time.Duration, error) {
	id := os.Getpid() & 0xffff
	msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("nslab example")}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return 0, err
	}
	var to net.Addr = &net.UDPAddr{IP: dst}
	if raw {
		to = &net.IPAddr{IP: dst}
	}
	start := time.Now()
	if _, err := c.WriteTo(b, to); err != nil {
		return 0, err // e.g. "network is unreachable": no route
	}
	c.SetReadDeadline(start.Add(time.Second))
	buf := make([]byte, 1500)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return 0, err
		}
		m, err := icmp.ParseMessage(1, buf[:n]) // 1: ICMP for IPv4
		if err != nil || m.Type != ipv4.ICMPTypeEchoReply {
			continue
		}
		if e, ok := m.Body.(*icmp.Echo); ok && e.Seq == seq && (!raw || e.ID == id) {
			return time.Since(start), nil
		}
	}
}
