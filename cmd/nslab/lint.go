package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/scenarios"
)

func setupLint() {
	root.AddCommand(&cobra.Command{
		Use:   "lint FILE...",
		Short: "Check scenario files without running them; errors and warnings name file:line:col",
		Long: `lint parses scenario files as nslab run would, and reports every error with
its file, line and column. It exits 1 if a file has errors, 2 if a file does
not exist. Warnings do not fail the file; they point out where a learner
would be stuck: a step that waits without a hint, a hands-on step whose
checks do not wait, a waiting check that only the lab's own commands can
satisfy.`,
		Args: func(_ *cobra.Command, files []string) error {
			if len(files) == 0 {
				return usageErrorf("give one or more scenario files: nslab lint my-lesson.md")
			}
			return nil
		},
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return []cobra.Completion{"md"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: func(cmd *cobra.Command, files []string) error {
			bad, missing := 0, 0
			for _, f := range files {
				sc, err := scenarios.Load(f)
				switch {
				case errors.Is(err, fs.ErrNotExist):
					missing++
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: no such file\n", f)
				case err != nil:
					bad++
					fmt.Fprintln(cmd.ErrOrStderr(), err)
				default:
					for _, w := range sc.Warnings {
						fmt.Fprintln(cmd.ErrOrStderr(), w)
					}
					note := ""
					if n := len(sc.Warnings); n > 0 {
						note = fmt.Sprintf(", %d warning(s)", n)
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%s, %d steps%s)\n", f, sc.ID, len(sc.Steps), note)
				}
			}
			switch {
			case missing > 0:
				return usageErrorf("%d of %d file(s) do not exist", missing, len(files))
			case bad > 0:
				return &exitError{code: exitFailure, err: fmt.Errorf("%d of %d file(s) have errors", bad, len(files))}
			}
			return nil
		},
	})
}
