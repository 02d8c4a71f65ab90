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
		Short: "Check scenario files without running them; errors name file:line:col",
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
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%s, %d steps)\n", f, sc.ID, len(sc.Steps))
			}
			if bad > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d file(s) have errors", bad, len(files))}
			}
			return nil
		},
	})
}
