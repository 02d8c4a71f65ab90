package bench

import (
	"fmt"
	"io"
)

// Print writes the report as `nslab bench proxy` shows it.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "idle cost of TCP+UDP listeners in N namespaces (each in its own process)\n")
	fmt.Fprintln(w, "strategy                   namespaces  listeners  processes  threads   RSS MiB  (anon)  bind ms")
	rows := append(append([]StrategyRow{r.IdleWorker}, r.Strategies...), r.SocatPerNs)
	for _, s := range rows {
		bind := "-"
		if s.BindMs > 0 {
			bind = fmt.Sprintf("%.1f", s.BindMs)
		}
		fmt.Fprintf(w, "%-26s %10d %10d %10d %8d %9.1f %7.1f %8s\n", s.Name, s.Namespaces, s.Listeners, s.Processes, s.Threads, s.RSSMiB, s.AnonMiB, bind)
	}
	fmt.Fprintf(w, "\nbinding TCP+UDP in all %d namespaces in this process (fd table grown first):\n", r.Namespaces)
	fmt.Fprintf(w, "  a thread per CPU, each visiting its share (BindEach): %.1f ms fresh namespaces, %.1f ms again\n", r.BindColdMs, r.BindWarmMs)
	fmt.Fprintf(w, "  per socket: plain here %.1f µs, a Do per namespace %.1f µs, BindEach %.1f µs: overhead %.1f µs\n", r.BindPlainUs, r.BindDoUs, r.BindEachUs, r.BindOverheadUs)
	fmt.Fprintf(w, "\nTCP inside a namespace, to a sink/echo server in its own process; %d MiB each, side by side (median of %d interleaved runs):\n", r.ThroughputBytes>>20, r.Rounds)
	fmt.Fprintf(w, "  direct            %6.2f GiB/s  (%.2f GiB/s to a server in the sender's own process)\n", r.Direct, r.DirectSameProc)
	fmt.Fprintf(w, "  nslab proxy       %6.2f GiB/s  (%.2f of direct, %.2fx socat)\n", r.Proxied, r.Proxied/r.Direct, r.Proxied/r.Socat)
	fmt.Fprintf(w, "  socat -b 131072   %6.2f GiB/s  (%.2f of direct)\n", r.Socat, r.Socat/r.Direct)
	if len(r.LoadSpread) > 0 {
		fmt.Fprintf(w, "\nthe same load (%d connect+echo, %d at a time) through a shared worker, spread over:\n", r.LoadSpread[0].Conns, r.LoadSpread[0].Concurrency)
		for _, l := range r.LoadSpread {
			fmt.Fprintf(w, "  %5d namespaces: %d threads idle; under the load %d (median of 10 ms samples), at most %d\n", l.Namespaces, l.IdleThreads, l.Threads, l.MaxThreads)
		}
	}
	fmt.Fprintf(w, "\nconnect + 1-byte echo, p50: direct %.1f µs, proxy %.1f µs (%.2fx), socat %.1f µs (%.2fx)\n",
		r.EchoDirectUs, r.EchoProxyUs, r.EchoProxyUs/r.EchoDirectUs, r.EchoSocatUs, r.EchoSocatUs/r.EchoDirectUs)
	fmt.Fprintf(w, "  to an echo server in the client's own process (no process boundary): direct %.1f µs (proxy %.2fx that)\n",
		r.EchoDirectSameProc, r.EchoProxyUs/r.EchoDirectSameProc)
}

// Print writes the comparison as tables, one per tenant count: a figure a
// row, a peer a column, and nslab's ratio to HAProxy.
func (r PeerReport) Print(w io.Writer) {
	fmt.Fprintf(w, "nslab proxy against its peers, %s, %s (%s)\n", r.Date, r.Machine, r.Versions["go"])
	for _, k := range []string{"haproxy", "socat"} {
		if v := r.Versions[k]; v != "" {
			fmt.Fprintf(w, "  %s\n", v)
		}
	}
	for _, m := range r.Missing {
		fmt.Fprintf(w, "  %s\n", m)
	}
	fmt.Fprintf(w, "each tenant's 127.0.0.1:%d to its 127.0.0.1:%d (one backend process for all); medians of %d alternated rounds;\n", listenPort, backendPort, r.Options.Rounds)
	fmt.Fprintf(w, "rates with %d clients for %s each, %d MiB per throughput run, CPU per connection at %d new connections/s\n",
		r.Options.Clients, r.Options.Duration, r.Options.Bytes>>20, r.Options.Rate)
	for _, set := range r.Sets {
		fmt.Fprintf(w, "\n%d tenants\n", set.Tenants)
		fmt.Fprintf(w, "%-34s", "")
		var ns, hp *PeerFigures
		for i, p := range set.Peers {
			fmt.Fprintf(w, "%12s", p.Peer)
			switch p.Peer {
			case "nslab":
				ns = &set.Peers[i]
			case "haproxy":
				hp = &set.Peers[i]
			}
		}
		if ns != nil && hp != nil {
			fmt.Fprintf(w, "%16s", "nslab/haproxy")
		}
		fmt.Fprintln(w)
		row := func(label string, get func(PeerFigures) float64, format string, idle bool) {
			fmt.Fprintf(w, "%-34s", label)
			for _, p := range set.Peers {
				if idle && p.Peer == "direct" {
					fmt.Fprintf(w, "%12s", "-")
					continue
				}
				fmt.Fprintf(w, "%12s", fmt.Sprintf(format, get(p)))
			}
			if ns != nil && hp != nil && get(*hp) != 0 {
				fmt.Fprintf(w, "%16.2f", get(*ns)/get(*hp))
			}
			fmt.Fprintln(w)
		}
		row("idle threads", func(f PeerFigures) float64 { return float64(f.Threads) }, "%.0f", true)
		row("idle RSS MiB", func(f PeerFigures) float64 { return f.RSSMiB }, "%.1f", true)
		row("idle PSS MiB", func(f PeerFigures) float64 { return f.PSSMiB }, "%.1f", true)
		row("start ms (every tenant listening)", func(f PeerFigures) float64 { return f.StartMs }, "%.0f", true)
		row("throughput 1 stream Gbit/s", func(f PeerFigures) float64 { return f.Gbps1 }, "%.2f", false)
		row("throughput 8 streams Gbit/s", func(f PeerFigures) float64 { return f.Gbps8 }, "%.2f", false)
		row("new connections/s", func(f PeerFigures) float64 { return f.NewRate }, "%.0f", false)
		row("  p50 µs", func(f PeerFigures) float64 { return f.NewP50 }, "%.0f", false)
		row("  p99 µs", func(f PeerFigures) float64 { return f.NewP99 }, "%.0f", false)
		row("keep-alive requests/s", func(f PeerFigures) float64 { return f.KARate }, "%.0f", false)
		row("  p50 µs", func(f PeerFigures) float64 { return f.KAP50 }, "%.0f", false)
		row("  p99 µs", func(f PeerFigures) float64 { return f.KAP99 }, "%.0f", false)
		row("  CPU µs per request", func(f PeerFigures) float64 { return f.CPUPerKAReq }, "%.1f", true)
		row(fmt.Sprintf("at %d new conn/s: done/s", r.Options.Rate), func(f PeerFigures) float64 { return f.FixedRate }, "%.0f", false)
		row("  CPU µs per connection", func(f PeerFigures) float64 { return f.CPUPerConn }, "%.1f", true)
		row("  p50 µs", func(f PeerFigures) float64 { return f.FixedP50 }, "%.0f", false)
		row("  p99 µs", func(f PeerFigures) float64 { return f.FixedP99 }, "%.0f", false)
		row("failed (all rounds)", func(f PeerFigures) float64 { return float64(f.Failed) }, "%.0f", false)
	}
}
