package script

import (
	"slices"
	"strings"

	"github.com/nslab/nslab/lab/probe"
)

// Candidates is what the running lab can offer a completion: the names it
// has made. Links is asked only when a link name fits (it may ask the
// kernel: call Complete from a tea.Cmd, not from Update).
type Candidates struct {
	Namespaces []string // lab namespaces (learner's names)
	NetNames   []string // what -n takes: lab namespaces and children with a network namespace of their own
	Children   []string // spawned children
	Proxies    []string
	Sockets    []string                 // listen ... as NAME
	Links      func(ns string) []string // "": the host's and every namespace's
}

// Complete returns the words that fit at the cursor: command words at the
// start, then what the command's next argument takes (links after `link
// set`, proxies after `proxy stats`, namespaces after `proxy add NAME`,
// sockets after `close`...), filtered by the part already typed.
func Complete(line string, cursor int, c Candidates) []string {
	cursor = min(max(cursor, 0), len(line))
	before := line[:cursor]
	start := strings.LastIndexAny(before, " \t") + 1
	word, words := before[start:], strings.Fields(before[:start])
	return filterPrefix(candidatesFor(words, c), word)
}

func filterPrefix(pool []string, word string) []string {
	var out []string
	for _, w := range pool {
		if strings.HasPrefix(w, word) && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return out
}

// candidatesFor is what may follow words (the complete words before the
// cursor).
func candidatesFor(words []string, c Candidates) []string {
	if len(words) == 0 {
		return firstWords()
	}
	// After a group word (netns, link, proxy...) only its subcommands fit.
	if len(words) == 1 {
		var subs []string
		for _, n := range Names() {
			if g, sub, ok := strings.Cut(n, " "); ok && g == words[0] {
				subs = append(subs, sub)
			}
		}
		if len(subs) > 0 {
			return subs
		}
	}
	last := words[len(words)-1]
	switch last {
	case "-n":
		return append(slices.Clone(c.NetNames), "host")
	case "netns":
		if words[0] == "link" {
			return c.NetNames
		}
	case "-p":
		return c.Children
	case "dev", "master":
		return links(c, nsOf(words))
	case "within":
		return []string{"5s", "30s", "60s", "5m"}
	}
	name, args := commandOf(words)
	switch name {
	case "netns del":
		return c.Namespaces
	case "link set", "link del":
		if len(args) == 0 {
			return links(c, nsOf(words))
		}
		return []string{"up", "down", "master", "netns", "name", "-n"}
	case "link show":
		return []string{"-n"}
	case "link add":
		switch {
		case last == "type":
			return []string{"veth", "bridge"}
		case len(args) >= 1:
			return []string{"type", "peer", "netns", "-n"}
		}
	case "kill", "idmap":
		if len(args) == 0 {
			return c.Children
		}
		return []string{"uid", "gid"}
	case "watch":
		return append(append([]string{"self"}, c.Children...), c.Proxies...)
	case "close":
		return c.Sockets
	case "exec":
		return []string{"-n", "-p", "--"}
	case "spawn":
		if len(args) >= 1 {
			return []string{"net,uts", "net", "uts", "pid", "mnt", "user", "ipc", "hostname", "uidmap", "gidmap", "propagation", "mountproc", "--"}
		}
	case "listen", "connect":
		switch len(args) {
		case 0:
			if name == "listen" {
				return []string{"tcp", "udp", "sctp", "http", "unix"}
			}
			return []string{"tcp", "udp", "http", "unix"}
		case 1:
			return nil // an address: nothing to guess
		}
		if name == "listen" {
			return []string{"-n", "as", "raw"}
		}
		return []string{"-n", "send", "host", "path"}
	case "proxy add", "proxy del":
		if len(args) == 0 {
			return c.Proxies
		}
		return c.Namespaces
	case "proxy stats", "proxy stop":
		return c.Proxies
	case "proxy start":
		if len(args) >= 1 {
			return []string{"strategy=shared", "strategy=thread-per-namespace", "strategy=process-per-namespace", "strategy=blocking-accept", "route", "tenants"}
		}
	case "holders":
		if len(args) == 0 {
			return heldNames(c)
		}
		return baseTypes
	case "help":
		return firstWords()
	case "expect":
		return expectCandidates(args, c)
	}
	return nil
}

// commandOf splits the words into the command's name and its arguments,
// leaving out -n NS (it may stand anywhere).
func commandOf(words []string) (string, []string) {
	name, rest := words[0], words[1:]
	if len(words) > 1 && Lookup(words[0]+" "+words[1]) != nil {
		name, rest = words[0]+" "+words[1], words[2:]
	}
	var args []string
	for i := 0; i < len(rest); i++ {
		if rest[i] == "-n" {
			i++
			continue
		}
		args = append(args, rest[i])
	}
	return name, args
}

// nsOf is the namespace a line names with -n, or "" when it names none
// yet (-n usually comes last: every namespace's links fit).
func nsOf(words []string) string {
	for i, w := range words[:len(words)-1] {
		if w == "-n" {
			return words[i+1]
		}
	}
	return ""
}

func links(c Candidates, ns string) []string {
	if c.Links == nil {
		return nil
	}
	return c.Links(ns)
}

func heldNames(c Candidates) []string {
	return slices.Concat(c.Namespaces, c.Children, c.Proxies, []string{"self", "host", "/run/netns/"})
}

func procNames(c Candidates) []string {
	return slices.Concat([]string{"self"}, c.Children, c.Proxies)
}

var checkKinds = []string{"ping", "link", "netns", "ns", "threads", "rss", "sockets", "hostname", "pid", "output", "accepted", "received", "holders", "lsns", "uid", "gid", "procs", "mount"}

func expectCandidates(args []string, c Candidates) []string {
	if len(args) == 0 {
		return checkKinds
	}
	kind, rest := args[0], args[1:]
	switch kind {
	case "link":
		if len(rest) == 0 {
			return links(c, nsOf(append(args, "")))
		}
		return []string{"up", "down", "exists", "absent", "-n"}
	case "netns":
		if len(rest) == 0 {
			return c.Namespaces
		}
		return []string{"exists", "absent"}
	case "ns":
		switch len(rest) {
		case 0:
			return nsTypes
		case 1:
			return procNames(c)
		case 2:
			return []string{"==", "!="}
		case 3:
			return slices.Concat([]string{"host"}, c.Namespaces, procNames(c))
		}
	case "threads", "rss", "hostname", "pid", "uid", "gid", "procs", "mount":
		if len(rest) == 0 {
			return procNames(c)
		}
		if kind == "threads" && len(rest) == 1 {
			return []string{"in", "<=", ">=", "=="}
		}
	case "sockets":
		switch len(rest) {
		case 0:
			return procNames(c)
		case 1:
			return []string{"in"}
		case 2:
			return append([]string{"host"}, c.NetNames...)
		}
	case "accepted", "received":
		if len(rest) == 0 {
			return c.Sockets
		}
		if kind == "received" && len(rest) == 1 {
			return []string{"contains", "lacks"}
		}
	case "holders", "lsns":
		if len(rest) == 0 {
			return heldNames(c)
		}
		if kind == "lsns" {
			return append(slices.Clone(baseTypes), "lists", "misses")
		}
		return slices.Concat(baseTypes, probe.HolderKinds, []string{"==", "<=", ">="})
	case "output":
		if len(rest) == 0 {
			return []string{"contains", "lacks"}
		}
	case "ping":
		if len(rest) >= 1 {
			return []string{"ok", "fails", "-n"}
		}
	}
	return nil
}
