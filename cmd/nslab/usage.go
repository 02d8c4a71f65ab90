package main

import (
	"fmt"
	"strings"
	"sync"

	"github.com/spf13/cobra"
)

var usageOnce sync.Once

// markUsageErrors makes every way cobra refuses a command line a usage
// error (exit 2): an unknown flag or a bad flag value, wrong arguments
// (each command's Args), an unknown subcommand, `help` of an unknown
// topic, a command that needs a subcommand run without one. Commands
// return usageErrorf themselves for an argument that names nothing.
func markUsageErrors() {
	usageOnce.Do(func() {
		root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return asUsage(err) })
		root.SetHelpCommand(helpCmd)
		root.InitDefaultCompletionCmd()
		registerCompletions()
		walk(root, func(c *cobra.Command) {
			switch {
			case !c.Runnable() && c.HasSubCommands():
				c.RunE = needSubcommand
				c.Args = cobra.ArbitraryArgs
			case c.Args == nil:
				c.Args = cobra.ArbitraryArgs
			}
			args := c.Args
			c.Args = func(cmd *cobra.Command, a []string) error {
				err := args(cmd, a)
				if err != nil && len(a) > 0 && cmd.HasSubCommands() && strings.HasPrefix(err.Error(), "unknown command") {
					err = fmt.Errorf("%w%s", err, suggest(cmd, a[0]))
				}
				return asUsage(err)
			}
		})
	})
}

func walk(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, sub := range c.Commands() {
		walk(sub, f)
	}
}

// needSubcommand runs in place of a command that only groups others.
func needSubcommand(cmd *cobra.Command, args []string) error {
	var names []string
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	if len(args) > 0 {
		return usageErrorf("unknown command %q for %q%s", args[0], cmd.CommandPath(), suggest(cmd, args[0]))
	}
	return usageErrorf("%s needs a subcommand: %s", cmd.CommandPath(), strings.Join(names, ", "))
}

func suggest(cmd *cobra.Command, typed string) string {
	if s := cmd.SuggestionsFor(typed); len(s) > 0 {
		return fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
	}
	return ""
}

// helpCmd is cobra's `help`, except that an unknown topic is a usage error
// rather than the root's usage with exit 0.
var helpCmd = &cobra.Command{
	Use:   "help [command]",
	Short: "Help about any command",
	ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		cmd, _, err := c.Root().Find(args)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, sub := range cmd.Commands() {
			if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
				out = append(out, cobra.CompletionWithDesc(sub.Name(), sub.Short))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	},
	RunE: func(c *cobra.Command, args []string) error {
		cmd, rest, err := c.Root().Find(args)
		if err != nil || len(rest) > 0 && cmd.HasSubCommands() {
			return usageErrorf("no help topic %q: `nslab help` lists the commands", strings.Join(args, " "))
		}
		cmd.InitDefaultHelpFlag()
		cmd.InitDefaultVersionFlag()
		return cmd.Help()
	},
}
