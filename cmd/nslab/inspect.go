package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lab/probe"
)

func setupInspect() {
	var o inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [PID...]",
		Short: "Show what the kernel sees of processes: namespaces, threads, sockets by namespace, memory",
		Long: `inspect shows, for each process, the inode of each of its namespaces (named:
host, a /run/netns name such as nslab-alpha, a lab process, or the PID that is
in it) and whether it differs from PID 1's; its threads, memory and open files;
and how many of its sockets live in each network namespace.

With no PID it inspects the lab's own processes and itself. --threads lists
each thread, --sockets each socket. --tree adds the process's descendants
(a process-per-namespace proxy's children, a spawned child's shell), each
with its threads, RSS, PSS and fds, and their sum: what the whole tree
costs, shared pages counted once in PSS. It changes nothing.`,
		Example: `  nslab inspect                 # the lab's processes
  nslab inspect 4242 --sockets  # which namespace each socket of 4242 is in
  nslab inspect $$ --json
  nslab inspect --holders alpha # what keeps /run/netns/nslab-alpha alive
  nslab inspect --holders 'net:[4026532301]'  # the same, once ip netns del took the name
  nslab inspect 4242 --tree     # a proxy and its per-namespace processes, summed`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.holders != "" {
				if len(args) > 0 {
					return usageErrorf("--holders takes one namespace; give no PIDs with it")
				}
				return runHolders(cmd.OutOrStdout(), o.holders, o.nsType, o.json)
			}
			for _, a := range args {
				pid, err := strconv.Atoi(a)
				if err != nil || pid <= 0 {
					return &exitError{code: 2, err: fmt.Errorf("%q is not a PID: give process IDs, like `nslab inspect 4242`", a)}
				}
				o.pids = append(o.pids, pid)
			}
			return runInspect(cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	cmd.Flags().BoolVar(&o.threads, "threads", false, "list each thread and its network namespace")
	cmd.Flags().BoolVar(&o.sockets, "sockets", false, "list each socket: protocol, local address, state, network namespace")
	cmd.Flags().BoolVar(&o.tree, "tree", false, "add the process's descendants and their sum: processes, threads, RSS, PSS (smaps_rollup), fds")
	cmd.Flags().BoolVar(&o.json, "json", false, "print JSON instead of tables")
	cmd.Flags().StringVar(&o.holders, "holders", "", "list every holder of a namespace: NS (a /run/netns name), /run/netns/NAME or any namespace file, a PID (with --type), or TYPE:[INODE] for one whose name is gone: processes and threads in it, bind mounts, open descriptors, sockets born in it, owned namespaces")
	cmd.Flags().StringVar(&o.nsType, "type", "net", "with --holders and a PID: which of its namespaces (net, mnt, pid, user, uts, ipc, cgroup, time)")
	root.AddCommand(cmd)
}

type inspectOptions struct {
	pids                         []int
	threads, sockets, tree, json bool
	holders, nsType              string
}

func runInspect(out, errw io.Writer, o inspectOptions) error {
	names := probe.LoadNames()
	var fam *probe.Family
	if o.tree {
		var err error
		if fam, err = probe.ReadFamily(); err != nil {
			return err
		}
	}
	pids := o.pids
	if len(pids) == 0 {
		pids = append(names.LabPIDs(), os.Getpid())
	}
	var views []inspectView
	failed := 0
	for _, pid := range pids {
		// Both are always read: the per-namespace counts and the summary
		// need them; the flags only choose what is listed.
		s, err := probe.Take(pid, probe.Options{Threads: true, Sockets: true, Tree: o.tree, Family: fam})
		if err != nil {
			failed++
			if errors.Is(err, probe.ErrNoProcess) {
				err = fmt.Errorf("process %d does not exist (exited?)", pid)
			}
			if o.json {
				views = append(views, inspectView{PID: pid, Error: err.Error()})
			} else {
				fmt.Fprintln(errw, "nslab inspect:", err)
			}
			continue
		}
		views = append(views, newInspectView(s, names, o))
	}
	if o.json {
		if err := writeJSON(out, inspectReport{jsonSchema, views}); err != nil {
			return err
		}
	} else {
		for i, v := range views {
			if i > 0 {
				fmt.Fprintln(out)
			}
			printInspect(out, v, o)
		}
	}
	if failed > 0 {
		return &exitError{code: exitFailure, err: fmt.Errorf("%d of %d processes could not be inspected", failed, len(pids))}
	}
	return nil
}

// inspectView is one process as inspect shows it: the snapshot with every
// inspectReport is `inspect --json`.
type inspectReport struct {
	Schema    int           `json:"schema"`
	Processes []inspectView `json:"processes"`
}

// inode named.
type inspectView struct {
	PID            int               `json:"pid"`
	Error          string            `json:"error,omitempty"` // the process could not be read at all
	Comm           string            `json:"comm,omitempty"`
	Label          string            `json:"label,omitempty"` // the lab's name for a process it started
	Self           bool              `json:"self,omitempty"`
	Time           *time.Time        `json:"time,omitempty"`
	Namespaces     []nsView          `json:"namespaces,omitempty"`
	Errors         map[string]string `json:"errors,omitempty"`
	NumThreads     int               `json:"num_threads,omitempty"`
	VmRSS          uint64            `json:"vm_rss,omitempty"`
	VmHWM          uint64            `json:"vm_hwm,omitempty"`
	FDs            int               `json:"fds,omitempty"`
	SocketsByNetns []countView       `json:"sockets_by_netns,omitempty"`
	ThreadsByNetns []countView       `json:"threads_by_netns,omitempty"`
	Threads        []threadView      `json:"threads,omitempty"`
	Sockets        []socketView      `json:"sockets,omitempty"`
	Tree           *probe.Tree       `json:"tree,omitempty"` // --tree: the process and its descendants
	Summary        string            `json:"summary,omitempty"`
}

type nsView struct {
	Type            string `json:"type"`
	Inode           uint64 `json:"inode"`
	Name            string `json:"name"`
	DiffersFromInit bool   `json:"differs_from_pid1"`
}

type countView struct {
	Netns uint64 `json:"netns"`
	Name  string `json:"name"`
	Count int    `json:"count"`
}

type threadView struct {
	probe.Thread
	NetnsName string `json:"netns_name,omitempty"`
}

type socketView struct {
	probe.Socket
	NetnsName string `json:"netns_name,omitempty"`
}

func newInspectView(s *probe.Snapshot, names *probe.Names, o inspectOptions) inspectView {
	v := inspectView{
		PID: s.PID, Comm: s.Comm, Label: names.Label(s.PID), Self: s.PID == os.Getpid(), Time: &s.Time,
		Errors: s.Errors, NumThreads: s.NumThreads, VmRSS: s.VmRSS, VmHWM: s.VmHWM, FDs: s.FDs, Tree: s.Tree,
	}
	differs := probe.DiffFromInit(s)
	for _, t := range probe.Types {
		ino, ok := s.Namespaces[t]
		if !ok {
			continue
		}
		v.Namespaces = append(v.Namespaces, nsView{Type: t, Inode: ino, Name: names.Name(t, ino), DiffersFromInit: slices.Contains(differs, t)})
	}
	v.SocketsByNetns = counts(s.SocketsByNetns(), names)
	v.ThreadsByNetns = counts(s.ThreadsByNetns(), names)
	if o.threads {
		for _, t := range s.Threads {
			v.Threads = append(v.Threads, threadView{Thread: t, NetnsName: nameOr(names, t.NetNS)})
		}
	}
	if o.sockets {
		for _, k := range s.Sockets {
			v.Sockets = append(v.Sockets, socketView{Socket: k, NetnsName: nameOr(names, k.NetNS)})
		}
	}
	v.Summary = summary(s, v)
	return v
}

func nameOr(names *probe.Names, ino uint64) string {
	if ino == 0 {
		return ""
	}
	return names.Name("net", ino)
}

// counts turns inode → count into rows, most first, then by name.
func counts(m map[uint64]int, names *probe.Names) []countView {
	out := make([]countView, 0, len(m))
	for ino, n := range m {
		out = append(out, countView{Netns: ino, Name: names.Name("net", ino), Count: n})
	}
	slices.SortFunc(out, func(a, b countView) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// summary is the one line a reader wants first: "212 sockets in 100
// namespaces, all 6 threads in host".
func summary(s *probe.Snapshot, v inspectView) string {
	var parts []string
	n := 0
	for _, c := range v.SocketsByNetns {
		n += c.Count
	}
	switch {
	case len(s.Sockets) == 0 && s.Errors["sockets"] != "":
		parts = append(parts, "sockets unknown")
	case len(s.Sockets) == 0:
		parts = append(parts, "no sockets")
	case n == 0:
		parts = append(parts, plural(len(s.Sockets), "socket")+", namespaces unknown")
	default:
		parts = append(parts, fmt.Sprintf("%s in %s", plural(n, "socket"), plural(len(v.SocketsByNetns), "namespace")))
		if unknown := len(s.Sockets) - n; unknown > 0 {
			parts[0] += fmt.Sprintf(" (+%d whose namespace is unknown)", unknown)
		}
	}
	switch tb := v.ThreadsByNetns; {
	case len(s.Threads) == 0:
	case len(tb) == 0:
		parts = append(parts, fmt.Sprintf("%s in unknown network namespaces", plural(len(s.Threads), "thread")))
	case len(tb) == 1 && tb[0].Count == len(s.Threads):
		if len(s.Threads) == 1 {
			parts = append(parts, "its one thread in "+tb[0].Name)
		} else {
			parts = append(parts, fmt.Sprintf("all %d threads in %s", len(s.Threads), tb[0].Name))
		}
	default:
		var in []string
		for _, c := range tb {
			in = append(in, fmt.Sprintf("%d in %s", c.Count, c.Name))
		}
		parts = append(parts, fmt.Sprintf("%d threads: %s", len(s.Threads), strings.Join(in, ", ")))
	}
	return strings.Join(parts, ", ")
}

// header is the line of counts: "6 threads, RSS 12.3 MiB (peak 14.0 MiB),
// 212 file descriptors open". A count that could not be read says so: a
// 0 there would be a number the kernel never gave.
func header(v inspectView) string {
	mem := fmt.Sprintf("%s, RSS %s (peak %s)", plural(v.NumThreads, "thread"), bytesIEC(v.VmRSS), bytesIEC(v.VmHWM))
	if _, bad := v.Errors["status"]; bad {
		mem = "threads and RSS unknown"
	}
	fds := plural(v.FDs, "file descriptor") + " open"
	if _, bad := v.Errors["fds"]; bad {
		fds = "open file descriptors unknown"
	}
	return mem + ", " + fds
}

func plural(n int, what string) string {
	if what == "process" && n != 1 {
		return fmt.Sprintf("%d processes", n)
	}
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func printInspect(out io.Writer, v inspectView, o inspectOptions) {
	title := fmt.Sprintf("PID %d  %s", v.PID, v.Comm)
	switch {
	case v.Label != "":
		title += fmt.Sprintf("  (lab process %q)", v.Label)
	case v.Self:
		title += "  (this nslab)"
	}
	fmt.Fprintln(out, title)
	fmt.Fprintln(out, "  "+header(v))
	if v.Tree != nil {
		fmt.Fprintln(out, "  "+treeHeader(v.Tree))
	}
	fmt.Fprintln(out, "  "+v.Summary)

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\n  NAMESPACE\tINODE\tNAME\t")
	for _, n := range v.Namespaces {
		mark := ""
		if n.DiffersFromInit {
			mark = "≠ differs from PID 1"
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\n", n.Type, n.Inode, n.Name, mark)
	}
	for _, t := range probe.Types {
		if _, ok := v.Errors["ns."+t]; ok {
			fmt.Fprintf(tw, "  %s\t?\t(could not read: see below)\t\n", t)
		}
	}
	if len(v.SocketsByNetns) > 0 {
		fmt.Fprintln(tw, "\n  SOCKETS IN\tNETNS INODE\tCOUNT\t")
		for _, c := range v.SocketsByNetns {
			fmt.Fprintf(tw, "  %s\t%d\t%d\t\n", c.Name, c.Netns, c.Count)
		}
	}
	tw.Flush()

	if v.Tree != nil {
		printTree(out, v.Tree)
	}
	if o.threads && len(v.Threads) > 0 {
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "\n  TID\tCOMM\tNETNS\t")
		for _, t := range v.Threads {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t\n", t.TID, t.Comm, orErr(t.NetnsName, short(t.Err)))
		}
		tw.Flush()
	}
	if o.sockets && len(v.Sockets) > 0 {
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "\n  FD\tPROTO\tLOCAL\tSTATE\tNETNS\t")
		for _, k := range v.Sockets {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t\n", k.FD, dash(k.Proto), dash(k.Local), dash(k.State), orErr(k.NetnsName, short(k.Err)))
		}
		tw.Flush()
	}
	errs := maps.Clone(v.Errors)
	if errs == nil {
		errs = map[string]string{}
	}
	for _, t := range v.Threads {
		if len(t.Err) > maxCellErr {
			errs[fmt.Sprintf("thread %d", t.TID)] = t.Err
		}
	}
	for _, k := range v.Sockets {
		if len(k.Err) > maxCellErr {
			errs[fmt.Sprintf("fd %d", k.FD)] = k.Err
		}
	}
	printErrors(out, errs)
}

// maxCellErr is the longest error shown in a table cell; longer ones are
// listed under "could not read".
const maxCellErr = 40

func short(err string) string {
	if len(err) > maxCellErr {
		return "could not read: see below"
	}
	return err
}

// printErrors lists what could not be read, one line per reason: ten
// namespace links refused for the same reason are one line, not ten.
func printErrors(out io.Writer, errs map[string]string) {
	if len(errs) == 0 {
		return
	}
	byMsg := map[string][]string{}
	for k, msg := range errs {
		byMsg[msg] = append(byMsg[msg], k)
	}
	msgs := make([]string, 0, len(byMsg))
	for msg, keys := range byMsg {
		slices.Sort(keys)
		msgs = append(msgs, msg)
	}
	slices.SortFunc(msgs, func(a, b string) int { return strings.Compare(byMsg[a][0], byMsg[b][0]) })
	fmt.Fprintln(out, "\n  could not read:")
	for _, msg := range msgs {
		fmt.Fprintf(out, "    %s: %s\n", strings.Join(byMsg[msg], ", "), msg)
	}
}

func orErr(s, err string) string {
	if err != "" {
		if s == "" {
			return "? " + err
		}
		return s + " (" + err + ")"
	}
	return dash(s)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func bytesIEC(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// treeHeader is the tree's sum: "with its descendants: 51 processes, 375
// threads, RSS 454.3 MiB, PSS 201.7 MiB, 612 file descriptors".
func treeHeader(t *probe.Tree) string {
	u := t.Total
	return fmt.Sprintf("with its descendants: %s, %s, RSS %s, PSS %s, %s",
		plural(u.Processes, "process"), plural(u.Threads, "thread"), bytesIEC(u.RSS), bytesIEC(u.PSS), plural(u.FDs, "file descriptor"))
}

// printTree lists the tree's processes, each on its own, children indented
// under their parent.
func printTree(out io.Writer, t *probe.Tree) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\n  PROCESS TREE\tCOMM\tTHREADS\tRSS\tPSS\tFDS\t")
	for _, p := range t.Procs {
		pid := strconv.Itoa(p.PID)
		if p.Depth > 0 {
			pid = strings.Repeat("  ", p.Depth-1) + "└ " + pid
		}
		pss := bytesIEC(p.PSS)
		if p.Err != "" {
			pss = "? " + short(p.Err)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%d\t\n", pid, p.Comm, p.Threads, bytesIEC(p.RSS), pss, p.FDs)
	}
	tw.Flush()
}
