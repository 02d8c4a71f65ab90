package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy/bench"
)

// `nslab bench proxy`: the measurements live in lab/proxy/bench; this is
// the command line.
func setupBenchProxy() {
	var asJSON, peers bool
	var scale int
	var o bench.Options
	var po bench.PeerOptions
	var mib int64
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Measure the proxy: threads and RSS per strategy, bind time, throughput; with --peers, against HAProxy and socat",
		Long: `Measure the proxy core.

Without --peers: the idle cost and bind time of each thread strategy, the
bind cost in one process, throughput and latency against a direct connection
and socat, and one load spread over more and more namespaces.

With --peers: nslab proxy as an operator runs it, HAProxy (with namespace on
each bind and server line) and one socat per tenant, side by side on the same
tenants and one shared backend address, in alternated runs: idle threads and
PSS, start time, throughput (1 and 8 streams), new-connection and keep-alive
request rates with p50/p99, CPU per connection at a fixed rate. Medians and
ratios to HAProxy. A peer whose program is missing is left out, and said so.

With --scale N: one nslab proxy with N tenants (10000, say): start time,
idle threads, RSS and PSS, and a sample of tenants asked through it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Bytes = mib << 20
			for _, f := range []struct {
				name     string
				v, least int64
			}{{"--count", int64(o.Namespaces), 1}, {"--mib", mib, 1}, {"--process-namespaces", int64(o.ProcessNamespaces), 1},
				{"--socat-namespaces", int64(o.SocatNamespaces), 1}, {"--rounds", int64(po.Rounds), 1}} {
				if f.v < f.least {
					return &exitError{code: 2, err: fmt.Errorf("%s %d: give at least %d", f.name, f.v, f.least)}
				}
			}
			for _, n := range po.Tenants {
				if n < 1 {
					return &exitError{code: 2, err: fmt.Errorf("--tenants %d: give at least 1", n)}
				}
			}
			if po.Duration <= 0 {
				return &exitError{code: 2, err: fmt.Errorf("--duration %s: give a positive duration, like 5s", po.Duration)}
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return withSession(ctx, cmd.ErrOrStderr(), false, func(ctx context.Context, s *lab.Session) error {
				var r interface{ Print(io.Writer) }
				var err error
				switch {
				case scale > 0:
					r, err = bench.Scale(ctx, s, scale, cmd.ErrOrStderr())
				case peers:
					po.Bytes = o.Bytes
					r, err = bench.Peers(ctx, s, po, cmd.ErrOrStderr())
				default:
					r, err = bench.Run(ctx, s, o, cmd.ErrOrStderr())
				}
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), withSchema(r))
				}
				r.Print(cmd.OutOrStdout())
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print JSON")
	f.IntVar(&o.Namespaces, "count", 1000, "tenant namespaces (TCP+UDP listener in each)")
	f.IntVar(&o.Namespaces, "namespaces", 1000, "same as --count")
	f.MarkHidden("namespaces")
	f.IntVar(&o.ProcessNamespaces, "process-namespaces", 100, "namespaces for process-per-namespace (a process each)")
	f.IntVar(&o.SocatNamespaces, "socat-namespaces", 100, "namespaces for one socat per namespace")
	f.Int64Var(&mib, "mib", 256, "MiB per throughput run (1024 for a 1 GiB figure)")
	f.BoolVar(&peers, "peers", false, "compare with HAProxy and socat (see --tenants, --rounds, --duration)")
	f.IntSliceVar(&po.Tenants, "tenants", []int{10, 100, 1000}, "with --peers: tenant counts to compare at")
	f.IntVar(&po.Rounds, "rounds", 3, "with --peers: alternated rounds (medians of these)")
	f.DurationVar(&po.Duration, "duration", 5e9, "with --peers: length of each rate measurement")
	f.StringSliceVar(&po.Only, "peer", nil, "with --peers: measure only these (nslab, haproxy, socat, direct)")
	f.IntVar(&scale, "scale", 0, "instead: one nslab proxy with this many tenants (threads, memory, start time)")
	benchCmd.AddCommand(cmd)
}

// withSchema sets the schema field every --json output starts with.
func withSchema(r any) any {
	switch v := r.(type) {
	case bench.ScaleReport:
		v.Schema = jsonSchema
		return v
	case bench.PeerReport:
		v.Schema = jsonSchema
		return v
	case bench.Report:
		v.Schema = jsonSchema
		return v
	}
	return r
}
