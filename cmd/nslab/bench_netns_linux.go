package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lab"
)

// netnsBench is one row of `nslab bench netns`.
type netnsBench struct {
	Count     int     `json:"count"`
	AddTotal  float64 `json:"add_total_ms"`
	AddEach   float64 `json:"add_each_ms"`
	DelTotal  float64 `json:"del_total_ms"`
	DelEach   float64 `json:"del_each_ms"`
	CloseMs   float64 `json:"session_close_ms"`
	SwitchUs  float64 `json:"do_round_trip_us"`
	LeftAfter int     `json:"left_after"`
}

func setupBenchNetns() {
	var counts []int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "netns",
		Short: "Time creating and removing named network namespaces (and one namespace switch)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, n := range counts {
				if n < 1 || n > 100000 {
					return usageErrorf("--count %d: give namespace counts from 1 to 100000", n)
				}
			}
			var rows []netnsBench
			for _, n := range counts {
				r, err := benchNetns(n)
				if err != nil {
					return err
				}
				rows = append(rows, r)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, struct {
					Schema int          `json:"schema"`
					Runs   []netnsBench `json:"runs"`
				}{jsonSchema, rows})
			}
			fmt.Fprintln(out, "namespaces   add total   add each   del total   del each   Do round trip   left")
			for _, r := range rows {
				fmt.Fprintf(out, "%10d  %8.1fms  %7.3fms  %8.1fms  %7.3fms  %11.1fµs  %5d\n",
					r.Count, r.AddTotal, r.AddEach, r.DelTotal, r.DelEach, r.SwitchUs, r.LeftAfter)
			}
			return nil
		},
	}
	cmd.Flags().IntSliceVar(&counts, "count", []int{100, 1000}, "namespace counts to measure")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	benchCmd.AddCommand(cmd)
}

func benchNetns(n int) (netnsBench, error) {
	r := netnsBench{Count: n}
	s, err := lab.NewSession(lab.Options{})
	if err != nil {
		return r, err
	}
	defer s.Close()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("bench-%d-%d", n, i)
	}
	t0 := time.Now()
	for _, name := range names {
		ns, err := s.AddNetns(name)
		if err != nil {
			return r, err
		}
		ns.Close()
	}
	add := time.Since(t0)

	ns, err := s.NetnsOf(names[0])
	if err != nil {
		return r, err
	}
	const rounds = 2000
	t1 := time.Now()
	for range rounds {
		lab.Do(ns, func() error { return nil })
	}
	r.SwitchUs = float64(time.Since(t1).Microseconds()) / rounds
	ns.Close()

	t2 := time.Now()
	for _, name := range names {
		if err := s.DelNetns(name); err != nil {
			return r, err
		}
	}
	del := time.Since(t2)
	r.AddTotal, r.AddEach = ms(add), ms(add)/float64(n)
	r.DelTotal, r.DelEach = ms(del), ms(del)/float64(n)
	r.LeftAfter = len(s.Owned())
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
