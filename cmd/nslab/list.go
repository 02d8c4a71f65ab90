package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/scenarios"
)

// scenarioDirs is --scenarios, shared by list, run and the TUI.
var scenarioDirs []string

func setupList() {
	root.PersistentFlags().StringSliceVar(&scenarioDirs, "scenarios", nil, "also load the scenarios (*.md) in this directory")
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the scenarios: id, title, level, minutes, and whether this machine can run each",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, errs := loadCatalog()
			out := cmd.OutOrStdout()
			if asJSON {
				type row struct {
					scenarios.Meta
					Steps     int    `json:"steps"`
					File      string `json:"file"`
					Available bool   `json:"available"`
					Reason    string `json:"reason,omitempty"`
				}
				rows := []row{}
				for _, sc := range list {
					m := sc.Meta
					m.Tags, m.Requires = orEmpty(m.Tags), orEmpty(m.Requires) // [], not null
					rows = append(rows, row{m, len(sc.Steps), sc.File, sc.Available, sc.Reason})
				}
				if err := writeJSON(out, struct {
					Schema    int   `json:"schema"`
					Scenarios []row `json:"scenarios"`
				}{jsonSchema, rows}); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tTITLE\tLEVEL\tMIN\tAVAILABLE")
				for _, sc := range list {
					avail := "yes"
					if !sc.Available {
						avail = "no: " + sc.Reason
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", sc.ID, sc.Title, sc.Level, sc.Minutes, avail)
				}
				tw.Flush()
			}
			for _, err := range errs {
				fmt.Fprintln(cmd.ErrOrStderr(), "nslab: skipped:", strings.ReplaceAll(err.Error(), "\n", "\n  "))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	root.AddCommand(cmd)
}

// loadCatalog loads the built-in and --scenarios lessons and marks which
// this machine can run.
func loadCatalog() ([]*scenarios.Scenario, []error) {
	list, errs := scenarios.Catalog(scenarioDirs...)
	have := lab.Features(lab.Doctor())
	for _, sc := range list {
		sc.CheckRequires(have)
	}
	return list, errs
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
