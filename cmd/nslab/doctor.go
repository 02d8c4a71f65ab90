package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lab"
)

func setupDoctor() {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that this machine can run the lab, and which lessons it supports",
		Long: `doctor checks privileges, /run/netns, kernel support for each namespace type,
veth and bridge links, SCTP, unprivileged user namespaces and optional tools.
It changes nothing on the machine. Exit code 0 means the lab can run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			checks := lab.Doctor()
			ready := lab.Ready(checks)
			if asJSON {
				type check struct {
					Name     string     `json:"name"`
					Status   lab.Status `json:"status"`
					Detail   string     `json:"detail"`
					Required bool       `json:"required"`
					Feature  string     `json:"feature,omitempty"`
				}
				out := struct {
					Schema int     `json:"schema"`
					Ready  bool    `json:"ready"`
					Checks []check `json:"checks"`
				}{Schema: jsonSchema, Ready: ready, Checks: []check{}}
				for _, c := range checks {
					out.Checks = append(out.Checks, check{c.Name, c.Status, c.Detail, c.Required, c.Feature})
				}
				if err := writeJSON(cmd.OutOrStdout(), out); err != nil {
					return err
				}
			} else {
				printChecks(cmd.OutOrStdout(), checks, ready)
			}
			if !ready {
				return &exitError{code: 1, err: errors.New("this machine cannot run the lab: fix the 'missing' lines above")}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the checks as JSON")
	root.AddCommand(cmd)
}

func printChecks(out io.Writer, checks []lab.Check, ready bool) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL")
	var off []string
	for _, c := range checks {
		mark := map[lab.Status]string{lab.StatusOK: "✓ ok", lab.StatusMissing: "✗ missing", lab.StatusNo: "– no", lab.StatusWarn: "! warning"}[c.Status]
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, mark, c.Detail)
		if !c.Required && c.Status == lab.StatusNo {
			off = append(off, c.Name)
		}
	}
	tw.Flush()
	switch {
	case !ready:
		fmt.Fprintln(out, "\nverdict: NOT ready: fix the 'missing' lines above.")
	case len(off) > 0:
		fmt.Fprintf(out, "\nverdict: ready. Not available here (lessons that need them are skipped): %s.\n", strings.Join(off, ", "))
	default:
		fmt.Fprintln(out, "\nverdict: ready, with every optional feature.")
	}
}

// doctorOutside is doctor for a user whose sandbox could not be made: the
// checks this process can run on the machine, the reason, and exit 1.
func doctorOutside(cmd *cobra.Command, why error) error {
	out := cmd.OutOrStdout()
	mode, reason := lab.ChooseMode(askSandbox)
	fmt.Fprintf(out, "mode: %s (%s)\n", mode, reason)
	fmt.Fprintf(out, "sandbox: %v\n\n", why)
	printChecks(out, lab.Doctor(), false)
	return &exitError{code: 1, err: errors.New("this user cannot run the lab here: see 'sandbox' above for the setting and the fix")}
}
