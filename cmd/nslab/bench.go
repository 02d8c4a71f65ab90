package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// benchCmd groups the measurements behind docs/benchmarks.md. Each benchmark
// is a subcommand in its own file (bench_*.go) that adds itself here; with no
// subcommand, every one runs in turn.
var benchCmd = &cobra.Command{
	Use:   "bench",
	Short: "Measure what the lab claims: namespace cost, binding, threads, RSS, throughput",
	Args:  cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		for _, sub := range cmd.Commands() {
			if sub.RunE == nil {
				continue
			}
			// A subcommand run from here was not executed by cobra: it
			// has no context of its own (withSession needs one) and
			// writes where its parent does.
			sub.SetContext(cmd.Context())
			sub.SetOut(cmd.OutOrStdout())
			sub.SetErr(cmd.ErrOrStderr())
			fmt.Fprintf(cmd.ErrOrStderr(), "nslab bench %s\n", sub.Name())
			if err := sub.RunE(sub, nil); err != nil {
				return fmt.Errorf("bench %s: %w", sub.Name(), err)
			}
		}
		return nil
	},
}

func setupBench() { root.AddCommand(benchCmd) }
