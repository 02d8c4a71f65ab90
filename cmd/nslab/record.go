package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/script"
	"github.com/nslab/nslab/scenarios"
)

// systemNames is how the names a lesson uses appear on the system in this
// session: the one place the shell export and --show sh take them from.
func systemNames(*lab.Session) script.SysNames { return script.HostNames() }

// showKinds are what --show may ask for.
var showKinds = []string{"sh", "go"}

// parseShow reads --show sh,go.
func parseShow(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		if !slices.Contains(showKinds, k) {
			return nil, fmt.Errorf("--show %q: show sh, go or both (sh,go)", k)
		}
		out = append(out, k)
	}
	return out, nil
}

// recordPath is where --record writes a lesson: with --all, {id} in the
// path stands for each lesson's id.
func recordPath(path, id string) string { return strings.ReplaceAll(path, "{id}", id) }

// checkRecord says what is wrong with a --record path before anything runs.
func checkRecord(path string, all bool) error {
	if path == "" {
		return nil
	}
	if ext := filepath.Ext(path); ext != ".sh" && ext != ".md" {
		return fmt.Errorf("--record %s: name a .sh file (a script that replays the lesson) or a .md file (a handout of the run)", path)
	}
	if all && !strings.Contains(path, "{id}") {
		return fmt.Errorf("--record %s with --all: put {id} in the name, which becomes each lesson's id (e.g. out/{id}.sh)", path)
	}
	return nil
}

// fillShells sets each command's and check's shell in a report as it
// reads in the lesson, where a name may be a spawned child (and as the
// export writes it), with this session's names.
func fillShells(rep *runReport, sc *scenarios.Scenario, names script.SysNames) {
	lines := sc.StmtShells(names)
	for i := range rep.Steps {
		for _, list := range [][]cmdReport{rep.Steps[i].Commands, rep.Steps[i].Checks} {
			for j := range list {
				if sh, ok := lines[list[j].Line]; ok {
					list[j].Shell = sh
				}
			}
		}
	}
}

// showEquivalents prints a step's shell and Go after its checks, as --show
// asks.
func showEquivalents(w io.Writer, show []string, sh, goCode string) {
	for _, k := range show {
		text, what := sh, "sh"
		if k == "go" {
			text, what = goCode, "go"
		}
		if strings.TrimSpace(text) == "" {
			fmt.Fprintf(w, "  %s: (none for this step)\n", what)
			continue
		}
		fmt.Fprintf(w, "  %s:\n%s\n", what, indentText(text, "    │ "))
	}
}

// writeRecord writes a lesson's record: FILE.sh is the whole lesson as a
// script that runs without nslab (from the first step, whatever --from
// rebuilt); FILE.md is a handout of this run: narration, commands with
// their output, checks, and each step's shell and Go.
func writeRecord(path string, sc *scenarios.Scenario, rep runReport, names script.SysNames, from int) error {
	var text string
	if filepath.Ext(path) == ".sh" {
		text = sc.ShellScript(script.ExportNames())
	} else {
		text = handout(sc, rep, names, from)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return fmt.Errorf("--record: %w", err)
	}
	return nil
}

// handout renders a run as Markdown.
func handout(sc *scenarios.Scenario, rep runReport, names script.SysNames, from int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n%s\n", sc.Title, sc.Intro)
	if from > 1 {
		fmt.Fprintf(&b, "\n(Steps 1 to %d were rebuilt quietly: `nslab run %s --from %d`.)\n", from-1, sc.ID, from)
	}
	shells := sc.StepShells(names)
	for _, st := range rep.Steps {
		step := &sc.Steps[st.N-1]
		fmt.Fprintf(&b, "\n## %d. %s\n\n", st.N, st.Title)
		if step.Prose != "" {
			fmt.Fprintf(&b, "%s\n\n", step.Prose)
		}
		if st.Skipped != "" {
			fmt.Fprintf(&b, "Skipped: %s\n", st.Skipped)
			continue
		}
		if len(st.Commands) > 0 {
			b.WriteString("```\n")
			for _, c := range st.Commands {
				fmt.Fprintf(&b, "$ %s\n", c.Text)
				if c.Output != "" {
					fmt.Fprintln(&b, c.Output)
				}
				if c.Error != "" {
					fmt.Fprintln(&b, "error:", c.Error)
				}
			}
			b.WriteString("```\n\n")
		}
		for _, c := range st.Checks {
			mark, why := "✓", ""
			if !c.OK {
				mark, why = "✗", " — "+c.Error
			}
			fmt.Fprintf(&b, "- %s `%s`%s\n", mark, c.Text, why)
		}
		if st.Hint != "" {
			fmt.Fprintf(&b, "\n> hint: %s\n", strings.ReplaceAll(st.Hint, "\n", "\n> "))
		}
		if sh := strings.TrimSpace(shells[st.N-1]); sh != "" {
			fmt.Fprintf(&b, "\nThe same in the shell:\n\n```sh\n%s\n```\n", sh)
		}
		if step.Go != "" {
			fmt.Fprintf(&b, "\nIn Go:\n\n```go\n%s\n```\n", step.Go)
		}
	}
	if rep.NotRun > 0 {
		fmt.Fprintf(&b, "\n(%d later step(s) were not run: a command failed.)\n", rep.NotRun)
	}
	if t := rep.Results; t != nil {
		b.WriteString(resultsMarkdown(t))
	}
	return b.String()
}

// resultsMarkdown is the comparison a lesson closed with, as a Markdown
// table, for the handout.
func resultsMarkdown(t *script.Table) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Results\n\n`%s`, measured %s: each proxy with every process it started.\n\n", t.Command, t.Taken.Format("2006-01-02 15:04:05"))
	b.WriteString("| proxy | strategy | tenants | processes | threads | PSS | fds | bind time |\n|---|---|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range t.Rows {
		if r.Error != "" {
			fmt.Fprintf(&b, "| %s | %s | not measured: %s ||||||\n", r.Proxy, r.Strategy, r.Error)
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %.1f MiB | %d | %.0f ms |\n", r.Proxy, r.Strategy, r.Tenants, r.Processes, r.Threads, float64(r.PSS)/(1<<20), r.FDs, r.BindMs)
	}
	return b.String()
}
