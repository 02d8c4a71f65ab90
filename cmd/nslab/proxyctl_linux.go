package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lab/proxy"
	"github.com/nslab/nslab/lab/script"
)

// `nslab proxy stats` asks a running proxy daemon what the lab's `proxy
// stats` shows: tenants, listeners, threads, memory, traffic per route. The
// shell exports of the lessons use it.
func setupProxyctl() {
	var control string
	var asJSON bool
	stats := &cobra.Command{
		Use:   "stats --control PATH",
		Short: "Show a running proxy's tenants, listeners, threads, memory and per-route traffic",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if control == "" {
				return &exitError{code: 2, err: errors.New("give the proxy's control socket: --control PATH")}
			}
			c, err := proxy.Dial(control)
			if err != nil {
				return err
			}
			defer c.Close()
			st, err := c.Stats()
			if err != nil {
				return fmt.Errorf("stats from %s: %w", control, err)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), st)
			}
			fmt.Fprintln(cmd.OutOrStdout(), script.FormatStats(st))
			return nil
		},
	}
	stats.Flags().StringVar(&control, "control", "", "the proxy's control socket")
	stats.Flags().BoolVar(&asJSON, "json", false, "print the stats as JSON")
	for _, c := range root.Commands() {
		if c.Name() == "proxy" {
			c.AddCommand(stats)
		}
	}
}
