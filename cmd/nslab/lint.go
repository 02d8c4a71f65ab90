package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/scenarios"
)

func init() {
	root.AddCommand(&cobra.Command{
		Use:   "lint FILE...",
		Short: "Check scenario files without running them; errors and warnings name file:line:col",
		Long: `lint parses scenario files and checks every name a line uses, without
running anything. Errors (exit 1) name file:line:col and what was expected.
Warnings do not fail the file; they point out where a learner would be
stuck: a step that waits without a hint, a hands-on step whose checks do
not wait, a waiting check that only the lab's own commands can satisfy.`,
		Args: func(_ *cobra.Command, files []string) error {
			if len(files) == 0 {
				return errors.New("give one or more scenario files: nslab lint my-lesson.md")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, files []string) error {
			bad := 0
			for _, f := range files {
				sc, err := scenarios.Load(f)
				if err != nil {
					bad++
					fmt.Fprintln(cmd.ErrOrStderr(), err)
					continue
				}
				for _, w := range sc.Warnings {
					fmt.Fprintln(cmd.ErrOrStderr(), w)
				}
				note := ""
				if n := len(sc.Warnings); n > 0 {
					note = fmt.Sprintf(", %d warning(s)", n)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%s, %d steps%s)\n", f, sc.ID, len(sc.Steps), note)
			}
			if bad > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d file(s) have errors", bad, len(files))}
			}
			return nil
		},
	})
}
