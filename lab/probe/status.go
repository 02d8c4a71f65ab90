package probe

// Status is what /proc/PID/status says of a process's size and place: the
// one reader of that file for the whole module (the probe's snapshots, the
// proxy's stats, the language's `expect pid`).
type Status struct {
	Name    string `json:"name"`
	PPID    int    `json:"ppid"`
	Threads int    `json:"threads"`
	VmRSS   uint64 `json:"vm_rss"`   // bytes resident
	VmHWM   uint64 `json:"vm_hwm"`   // bytes: peak RSS
	RssAnon uint64 `json:"rss_anon"` // bytes: the resident part that is the process's own (heap, stacks)
	// UID and GID are the real ids, as the kernel stores them (the
	// machine's numbering, whatever user namespace the process is in).
	UID int64 `json:"uid"`
	GID int64 `json:"gid"`
	// NSpid is the PID in each PID namespace the process is in, from the
	// reader's outward-most down to its own (what getpid(2) returns there).
	NSpid []int `json:"nspid,omitempty"`
}
