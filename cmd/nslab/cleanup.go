package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lab"
)

func setupCleanup() {
	var orphans bool
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Remove what killed or crashed lab runs left behind",
		Long: `cleanup reads the journals under /run/nslab and removes, newest first, the
processes, links and namespaces of every lab session that is no longer
running. Sessions still running are left alone, and so is any nslab-* namespace
or link that no journal records: nslab removes only what it made.

It is for labs that root ran on the machine (host mode). A lab in a sandbox
(any user but root, or --sandbox) leaves nothing: the kernel removes the
sandbox, with everything in it, when the lab ends.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if orphans {
				return printOrphans(cmd.OutOrStdout())
			}
			if mode, _ := lab.ChooseMode(false); mode == lab.ModeSandbox && lab.CheckPrivileges() != nil {
				lab.RunningLabs() // drops the entries of labs that ended
				fmt.Fprintln(cmd.OutOrStdout(), "nothing to clean up: as this user every lab runs in a sandbox of its own, and the kernel removes it when the lab ends, however it ends (nslab cleanup is for labs root ran on the machine)")
				return nil
			}
			rep, err := lab.Cleanup(lab.RunDir())
			if err != nil {
				return err
			}
			printCleanup(cmd.OutOrStdout(), rep)
			if len(rep.Failed) > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d removal(s) failed", len(rep.Failed))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&orphans, "orphans", false, "only list (one a line) the nslab- namespaces and host links no running session owns; change nothing")
	root.AddCommand(cmd)
}

// printOrphans lists nslab- resources no running lab session owns: what a
// finished test or run would have left behind.
func printOrphans(w io.Writer) error {
	netns, links := lab.LiveOwned(lab.RunDir())
	var out []string
	if ents, err := os.ReadDir(lab.NetnsDir); err == nil {
		for _, e := range ents {
			if lab.IsLabName(e.Name()) && !netns[e.Name()] {
				out = append(out, "netns "+e.Name())
			}
		}
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, i := range ifs {
		if lab.IsLabName(i.Name) && !links[i.Name] {
			out = append(out, "link "+i.Name)
		}
	}
	sort.Strings(out)
	for _, l := range out {
		fmt.Fprintln(w, l)
	}
	return nil
}

func printCleanup(w io.Writer, rep lab.CleanupReport) {
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		if title != "failed" { // each failure in full: those are the lines to act on
			items = shortList(items)
		}
		fmt.Fprintf(w, "%s:\n", title)
		for _, it := range items {
			fmt.Fprintf(w, "  %s\n", it)
		}
	}
	if rep.Empty() && len(rep.Foreign) == 0 && len(rep.Live) == 0 {
		fmt.Fprintln(w, "nothing to clean up")
		return
	}
	list("removed", append(append([]string{}, rep.Removed...), rep.StrayInit...))
	list("already gone (with a peer or namespace, or before), or not the dead run's", rep.Gone)
	list("failed", rep.Failed)
	list("running sessions, left alone", rep.Live)
	list("not made by nslab (no journal entry), left alone", rep.Foreign)
	fmt.Fprintf(w, "%d dead session(s) cleaned, %d resource(s) removed\n", rep.Journals, len(rep.Removed)+len(rep.StrayInit))
}

// shortList keeps a report readable when a run left hundreds of one kind
// (a proxy bench makes 1000 namespaces): a kind with more than listEach
// items is one line, "1000 × netns: nslab-pp999, nslab-pp998, … nslab-pp0",
// in the order the items came.
func shortList(items []string) []string {
	const listEach = 8
	var kinds []string
	byKind := map[string][]string{}
	for _, it := range items {
		kind, what, ok := strings.Cut(it, " ")
		if !ok {
			kind, what = "", it
		}
		if _, seen := byKind[kind]; !seen {
			kinds = append(kinds, kind)
		}
		byKind[kind] = append(byKind[kind], what)
	}
	var out []string
	for _, k := range kinds {
		names := byKind[k]
		if len(names) <= listEach {
			for _, n := range names {
				out = append(out, strings.TrimSpace(k+" "+n))
			}
			continue
		}
		out = append(out, fmt.Sprintf("%d × %s: %s, … %s", len(names), k, strings.Join(names[:3], ", "), names[len(names)-1]))
	}
	return out
}
