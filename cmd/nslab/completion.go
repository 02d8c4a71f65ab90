package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/scenarios"
)

// registerCompletions teaches `nslab completion` the lab's own words:
// lesson ids (with their titles) for `run` and `--open`, step titles for
// `run ID --from`. Run from execute, once every command exists.
func registerCompletions() {
	if run, _, err := root.Find([]string{"run"}); err == nil && run != root {
		run.ValidArgsFunction = completeLessons
		run.RegisterFlagCompletionFunc("from", completeSteps)
	}
	if root.Flags().Lookup("open") != nil {
		root.RegisterFlagCompletionFunc("open", func(c *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return completeLessons(c, nil, prefix)
		})
	}
}

// completeLessons offers lesson ids; a word that looks like a path
// completes as a Markdown file instead (run takes one too).
func completeLessons(_ *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	if strings.ContainsAny(prefix, "./") {
		return []cobra.Completion{"md"}, cobra.ShellCompDirectiveFilterFileExt
	}
	list, _ := scenarios.Catalog(scenarioDirs...)
	var out []cobra.Completion
	for _, sc := range list {
		if strings.HasPrefix(sc.ID, prefix) {
			out = append(out, cobra.CompletionWithDesc(sc.ID, sc.Title))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeSteps offers the titles of the steps of the lesson named before
// --from, each described by its number (a number works as well).
func completeSteps(_ *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	list, _ := scenarios.Catalog(scenarioDirs...)
	sc, err := scenarios.Find(list, args[0])
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for i, st := range sc.Steps {
		if strings.HasPrefix(strings.ToLower(st.Title), strings.ToLower(prefix)) {
			out = append(out, cobra.CompletionWithDesc(st.Title, fmt.Sprintf("step %d", i+1)))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
