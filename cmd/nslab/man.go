package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The manual page is written here from the command tree, in roff, rather
// than with cobra/doc: that would add go-md2man and blackfriday (a
// Markdown parser) to the module for a page whose text is already plain,
// and it makes a page per subcommand without the sections a reader looks
// for (EXIT STATUS, ENVIRONMENT, FILES). `make install` writes it with
// `nslab man`.
func setupMan() {
	root.AddCommand(&cobra.Command{
		Use:    "man",
		Short:  "Print the manual page, nslab(1), in roff (make install puts it in man1)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return writeMan(cmd.OutOrStdout(), root, time.Now())
		},
	})
}

func writeMan(w io.Writer, root *cobra.Command, date time.Time) error {
	// --help, added lazily, makes cobra end a usage line with [flags]:
	// add it everywhere first, so that every line reads the same.
	walk(root, func(c *cobra.Command) { c.InitDefaultHelpFlag() })
	var b strings.Builder
	v, _, _ := strings.Cut(root.Version, " ") // v0.2.0, without the commit
	fmt.Fprintf(&b, ".TH NSLAB 1 %q \"nslab %s\" \"User Commands\"\n", date.Format("2006-01-02"), roffEscape(v))
	b.WriteString(".SH NAME\nnslab \\- " + roffEscape(strings.ToLower(root.Short[:1])+root.Short[1:]) + "\n")
	b.WriteString(".SH SYNOPSIS\n.B nslab\n[\\fIOPTIONS\\fR]\n.br\n.B nslab\n\\fICOMMAND\\fR [\\fIARGS\\fR] [\\fIOPTIONS\\fR]\n")
	b.WriteString(".SH DESCRIPTION\n" + roffText(root.Long) + "\n")
	b.WriteString(".SH OPTIONS\n")
	manFlags(&b, root.LocalNonPersistentFlags())
	manFlags(&b, root.PersistentFlags())
	b.WriteString(".SH COMMANDS\n")
	walk(root, func(c *cobra.Command) {
		if c == root || !c.IsAvailableCommand() || c.Name() == "help" || c.HasParent() && c.Parent().Name() == "completion" {
			return
		}
		fmt.Fprintf(&b, ".SS %s\n", roffEscape(c.UseLine()))
		text := c.Long
		if text == "" {
			text = c.Short
		}
		b.WriteString(roffText(text) + "\n")
		manFlags(&b, c.NonInheritedFlags())
	})
	b.WriteString(`.SH EXIT STATUS
.TP
.B 0
Success.
.TP
.B 1
The command ran and something failed: a check did not hold, the machine
cannot run the lab, a removal failed, a scenario file has errors.
.TP
.B 2
A usage error: an unknown command or flag, a bad flag value, a missing or
extra argument, an argument that is not what it should be (not a PID), or
one that names nothing (no such scenario, step or file). Nothing ran.
.TP
.B 130
Interrupted (SIGINT, SIGTERM or SIGHUP); the lab was removed first.
.SH ENVIRONMENT
.TP
.B NSLAB_RUN_DIR
Where lab sessions keep their journals and control sockets (default
.IR /run/nslab ).
.B nslab cleanup
reads the journals there.
.TP
.B XDG_STATE_HOME
The TUI keeps lesson progress in
.I $XDG_STATE_HOME/nslab/progress.json
(default
.IR ~/.local/state ).
.TP
.B NO_COLOR
Set, the TUI and the narration use no colour.
.SH FILES
.TP
.I /run/netns/nslab-*
The lab's named network namespaces, as
.BR ip\-netns (8)
sees them.
.TP
.I /run/nslab/*.journal
One journal per lab session: every resource it made, written before it is
made, so that
.B nslab cleanup
can remove what a killed run left.
.SH SEE ALSO
.BR namespaces (7),
.BR network_namespaces (7),
.BR ip\-netns (8),
.BR nsenter (1),
.BR unshare (1),
.BR setns (2)
`)
	_, err := io.WriteString(w, b.String())
	return err
}

// manFlags lists flags as .TP paragraphs.
func manFlags(b *strings.Builder, fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Name == "help" {
			return
		}
		b.WriteString(".TP\n")
		if f.Shorthand != "" {
			fmt.Fprintf(b, "\\fB\\-%s\\fR, ", f.Shorthand)
		}
		name, usage := pflag.UnquoteUsage(f)
		fmt.Fprintf(b, "\\fB\\-\\-%s\\fR", roffEscape(f.Name))
		if name != "" {
			fmt.Fprintf(b, " \\fI%s\\fR", roffEscape(name))
		}
		b.WriteString("\n" + roffText(usage))
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.DefValue != "0" {
			fmt.Fprintf(b, " (default: %s)", roffEscape(f.DefValue))
		}
		b.WriteString("\n")
	})
}

// roffText is plain text as roff paragraphs: blank lines start a new one,
// indented lines are kept as they are (examples).
func roffText(s string) string {
	var out []string
	literal := false
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		switch {
		case strings.TrimSpace(l) == "":
			if literal {
				out = append(out, ".fi")
				literal = false
			}
			out = append(out, ".PP")
		case strings.HasPrefix(l, "  "):
			if !literal {
				out = append(out, ".nf")
				literal = true
			}
			out = append(out, roffLine(l))
		default:
			if literal {
				out = append(out, ".fi")
				literal = false
			}
			out = append(out, roffLine(l))
		}
	}
	if literal {
		out = append(out, ".fi")
	}
	return strings.Join(out, "\n")
}

// roffLine escapes one line of text, including a leading dot or quote that
// roff would read as a request.
func roffLine(l string) string {
	l = roffEscape(l)
	if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
		l = `\&` + l
	}
	return l
}

// roffEscape escapes backslashes and hyphens (a minus in an option), and
// writes every non-ASCII character (✓, —, ≤) as a named glyph, which any
// roff reads whatever the input encoding.
func roffEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r == '-':
			b.WriteString(`\-`)
		case r > 0x7e:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
