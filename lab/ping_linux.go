package lab

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// PingOptions tune Ping. Zero values mean: 3 echoes, 200 ms apart, each
// waiting up to 1 s for its reply.
type PingOptions struct {
	Count    int
	Interval time.Duration
	Timeout  time.Duration
}

// PingResult is what `ping` would summarise.
type PingResult struct {
	Target   string
	From     string          // the namespace the echoes were sent from
	Sent     int             // echo requests sent
	Received int             // matching replies
	RTTs     []time.Duration // one per reply, in order
	Errors   []string        // send errors (e.g. "network is unreachable")
}

// OK reports whether at least one reply came back.
func (r PingResult) OK() bool { return r.Received > 0 }

func (r PingResult) String() string {
	s := fmt.Sprintf("%d packets transmitted, %d received", r.Sent, r.Received)
	if len(r.RTTs) > 0 {
		lo, hi, sum := r.RTTs[0], r.RTTs[0], time.Duration(0)
		for _, d := range r.RTTs {
			lo, hi, sum = min(lo, d), max(hi, d), sum+d
		}
		s += fmt.Sprintf(", rtt min/avg/max %s/%s/%s", roundRTT(lo), roundRTT(sum/time.Duration(len(r.RTTs))), roundRTT(hi))
	}
	if len(r.Errors) > 0 {
		s += " (" + r.Errors[0] + ")"
	}
	return s
}

func roundRTT(d time.Duration) time.Duration { return d.Round(time.Microsecond) }

// Ping sends ICMP echo requests to target from inside namespace ns, with a
// raw ICMP socket made there (so no ping binary is needed). It returns an
// error only if it could not ping at all; lost replies are in the result.
func (s *Session) Ping(ns, target string, opt PingOptions) (PingResult, error) {
	dst, err := ParseIP(target)
	if err != nil {
		return PingResult{}, err
	}
	st, err := s.state(ns)
	if err != nil {
		return PingResult{}, err
	}
	return PingIn(st.ns, dst, opt)
}

// PingIn pings dst from namespace ns (nil: the current one).
func PingIn(ns *Netns, dst netip.Addr, opt PingOptions) (PingResult, error) {
	if opt.Count <= 0 {
		opt.Count = 3
	}
	if opt.Interval <= 0 {
		opt.Interval = 200 * time.Millisecond
	}
	if opt.Timeout <= 0 {
		opt.Timeout = time.Second
	}
	res := PingResult{Target: dst.String(), From: ns.Name()}
	network, laddr, proto := "ip4:icmp", "0.0.0.0", 1
	var echoReq, echoRep icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if dst.Is6() && !dst.Is4In6() {
		network, laddr, proto = "ip6:ipv6-icmp", "::", 58
		echoReq, echoRep = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	var conn *icmp.PacketConn
	err := Do(ns, func() error {
		var err error
		conn, err = icmp.ListenPacket(network, laddr)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("open ICMP socket in %s: %w", ns.Name(), errnoKind(unwrapSyscall(err)))
	}
	defer conn.Close()

	id := rand.IntN(0xffff) + 1
	to := &net.IPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	buf := make([]byte, 1500)
	sentAt := map[int]time.Time{}
	// wait reads replies until deadline; a late reply to an earlier echo
	// (the first one often waits for neighbour discovery) still counts,
	// as ping(8) counts it.
	wait := func(deadline time.Time, want int) {
		for len(sentAt) > 0 {
			conn.SetReadDeadline(deadline)
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					res.Errors = append(res.Errors, err.Error())
				}
				return
			}
			// A raw socket sees every ICMP message of the namespace:
			// keep only replies to our echoes.
			rm, err := icmp.ParseMessage(proto, buf[:n])
			if err != nil || rm.Type != echoRep {
				continue
			}
			echo, ok := rm.Body.(*icmp.Echo)
			if !ok || echo.ID != id {
				continue
			}
			if ip, ok := from.(*net.IPAddr); ok && !ip.IP.Equal(to.IP) {
				continue
			}
			t0, ok := sentAt[echo.Seq]
			if !ok {
				continue
			}
			delete(sentAt, echo.Seq)
			res.Received++
			res.RTTs = append(res.RTTs, time.Since(t0))
			if echo.Seq == want {
				return
			}
		}
	}
	for seq := 1; seq <= opt.Count; seq++ {
		msg := icmp.Message{Type: echoReq, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("nslab-ping")}}
		b, _ := msg.Marshal(nil)
		sent := time.Now()
		res.Sent++
		if _, err := conn.WriteTo(b, to); err != nil {
			res.Errors = append(res.Errors, describeSendErr(err))
			continue
		}
		sentAt[seq] = sent
		if seq < opt.Count {
			// Wait for this reply, but send the next echo on schedule.
			wait(sent.Add(min(opt.Interval, opt.Timeout)), seq)
			time.Sleep(time.Until(sent.Add(opt.Interval)))
		} else {
			wait(sent.Add(opt.Timeout), seq)
		}
	}
	return res, nil
}

func describeSendErr(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return unwrapSyscall(op.Err).Error()
	}
	return err.Error()
}
