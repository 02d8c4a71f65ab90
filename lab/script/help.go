package script

import (
	"context"
	"fmt"
	"strings"
)

// Help is the text `help` prints: every command, or one in detail.
func Help(name string) (string, error) {
	if name == "" {
		var b strings.Builder
		for _, c := range registry {
			fmt.Fprintf(&b, "%-11s %s\n", c.Name, c.Summary)
		}
		b.WriteString("\nhelp COMMAND shows usage and an example; -n NS runs a command in a namespace, like ip -n.")
		return b.String(), nil
	}
	c := Lookup(name)
	if c == nil {
		var names []string
		for _, c := range registry {
			names = append(names, c.Name)
		}
		return "", fmt.Errorf("no command %q%s", name, didYouMean(name, append(names, firstWords()...)))
	}
	return fmt.Sprintf("%s — %s\n\nusage:   %s\nexample: %s", c.Name, c.Summary, c.Usage, c.Example), nil
}

var cmdHelp = &Command{
	Name: "help", Usage: "help [COMMAND]", Summary: "list the commands, or show one's usage and an example", Example: "help link add",
	parse: func(p *parser) (Action, error) {
		name := strings.Join(p.rest(), " ")
		if c := Lookup(name); name != "" && c == nil {
			if g := Lookup(strings.SplitN(name, " ", 2)[0]); g == nil {
				// A group word like "link" lists its commands.
				var group []string
				for _, c := range registry {
					if strings.HasPrefix(c.Name, name+" ") {
						group = append(group, c.Name)
					}
				}
				if len(group) == 0 {
					_, err := Help(name)
					return nil, &SyntaxError{p.file, p.line, p.head.Col + len(p.head.Text) + 1, err.Error()}
				}
			}
		}
		return &act{
			run: func(context.Context, *Env) (string, error) {
				if Lookup(name) == nil && name != "" {
					var b strings.Builder
					for _, c := range registry {
						if strings.HasPrefix(c.Name, name+" ") {
							fmt.Fprintf(&b, "%s\n  usage:   %s\n  example: %s\n", c.Name, c.Usage, c.Example)
						}
					}
					return strings.TrimRight(b.String(), "\n"), nil
				}
				return Help(name)
			},
			sh:     func(*Sh) string { return "# help: man ip-netns, man unshare, man nsenter" },
			gocode: "// see docs/language.md",
		}, nil
	},
}

// Reference renders the command reference (docs/language.md).
func Reference() string {
	var b strings.Builder
	b.WriteString("# The lab command language\n\n")
	b.WriteString("One command a line; `#` starts a comment; quotes group words. Names are the\n")
	b.WriteString("learner's (`alpha`); on the system they are `nslab-alpha`. `-n NS` runs a\n")
	b.WriteString("command inside a namespace, like `ip -n`; NS may be a lab namespace, a\n")
	b.WriteString("spawned child's name, or `host`. Every command also has its shell and Go\n")
	b.WriteString("equivalents, shown below for each command's example. In a lesson the shell is\n")
	b.WriteString("rendered in order, so that a spawned child is `$PID_OF_NAME` (`nsenter -t\n")
	b.WriteString("$PID_OF_C -n ...`) and each check a `test ... || fail` line: what `nslab run\n")
	b.WriteString("--show sh` prints and `--record FILE.sh` writes as a script that runs on its\n")
	b.WriteString("own (see authoring.md). Generated from the registry\n")
	b.WriteString("(`go test ./lab/script -run Reference -update`).\n\n")
	b.WriteString("Checks (`expect ...`) may end with `within DURATION`: they are polled every\n")
	b.WriteString("100 ms until they hold, which is how hands-on steps wait for a learner\n")
	b.WriteString("typing in a second terminal. `expect ping ... ok` always allows 3 s, as a\n")
	b.WriteString("fresh veth has no carrier for a moment. `expect sockets` counts internet\n")
	b.WriteString("sockets (TCP, UDP, SCTP, raw), not the lab's own netlink handle.\n\n")
	b.WriteString("Names are checked before anything runs. In a scenario, every namespace,\n")
	b.WriteString("child, proxy and socket a line uses must be made by an earlier line\n")
	b.WriteString("(`netns add`, `spawn`, `proxy start`, `listen ... as`, or a check `expect\n")
	b.WriteString("netns NAME exists`), else `nslab lint` reports it at its column with the\n")
	b.WriteString("closest name. `host`, `self` and PIDs always exist. At the prompt, names\n")
	b.WriteString("are checked against the running lab (a namespace made in another\n")
	b.WriteString("terminal counts).\n\n")
	b.WriteString("Where a command takes several namespaces (`netns add`, `netns del`, `proxy\n")
	b.WriteString("add`, `proxy del`, `tenants`), give words, comma lists (`alpha,beta`) or\n")
	b.WriteString("ranges (`t{1..100}`, at most 1000 names).\n\n")
	b.WriteString("| command | what it does |\n|---|---|\n")
	for _, c := range registry {
		fmt.Fprintf(&b, "| `%s` | %s |\n", c.Name, c.Summary)
	}
	for _, c := range registry {
		fmt.Fprintf(&b, "\n## %s\n\n%s.\n\n```\n%s\n```\n\nExample: `%s`\n", c.Name, c.Summary, c.Usage, c.Example)
		if st, err := ParseLine("", 1, c.Example); err == nil {
			fmt.Fprintf(&b, "\nShell equivalent:\n\n```sh\n%s\n```\n", st.Shell())
			fmt.Fprintf(&b, "\nIn Go:\n\n```go\n%s\n```\n", st.Go())
		}
	}
	return b.String()
}
