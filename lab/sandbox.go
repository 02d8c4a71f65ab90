package lab

import (
	"encoding/json"
	"os"
	"syscall"
)

// Mode is where a lab runs: on the machine itself (host mode: root, the
// machine's /run/netns and network namespace) or in a sandbox the lab makes
// for itself (new user, mount, network and PID namespaces), which needs no
// privilege at all.
type Mode string

const (
	ModeHost    Mode = "host"
	ModeSandbox Mode = "sandbox"
)

// Environment variables of the sandbox. SandboxEnv=1 asks for a sandbox
// even as root (as the --sandbox flag does); the other two are set by the
// sandbox itself for the lab inside.
const (
	SandboxEnv      = "NSLAB_SANDBOX"
	sandboxStateEnv = "NSLAB_IN_SANDBOX" // JSON SandboxInfo, for the lab inside
	sandboxReadyEnv = "NSLAB_SANDBOX_READY_FD"
)

// SandboxInfo is what the lab inside a sandbox knows about it: recorded by
// the process that made the sandbox, before it entered any namespace.
type SandboxInfo struct {
	// Machine holds the inodes of the namespaces the learner logged in
	// with (the machine's), by type: what the panels label "machine".
	Machine map[string]uint64 `json:"machine"`
	// UID and GID are the learner's ids outside, mapped to 0 inside.
	UID int `json:"uid"`
	GID int `json:"gid"`
	// IDs says how ids are mapped: "0 1000 1" alone, or with a range from
	// /etc/subuid ("0 1000 1, 1 100000 65536").
	IDs string `json:"ids"`
	// Range reports whether a subordinate range is mapped (so uids other
	// than 0, nobody's 65534 among them, exist inside).
	Range bool `json:"range"`
	// Why says why this lab runs in a sandbox (not root, --sandbox...).
	Why string `json:"why,omitempty"`
	// Limits bound the lab (nslab serve: one learner); nil for none.
	Limits *SandboxLimits `json:"limits,omitempty"`
	// Setup is set for the lab process the sandbox's init starts: it makes
	// the sandbox's mounts and brings lo up before anything else runs.
	Setup bool `json:"setup,omitempty"`
}

// sandboxInfo reads the sandbox's description from the environment, or nil.
func sandboxInfo() *SandboxInfo {
	v := os.Getenv(sandboxStateEnv)
	if v == "" {
		return nil
	}
	var info SandboxInfo
	if json.Unmarshal([]byte(v), &info) != nil {
		return nil
	}
	return &info
}

// SandboxLimits bound what one sandbox may use: nslab serve gives each
// learner's lab these. The lab applies them to itself while it sets the
// sandbox up, before anything of the learner's runs; root inside the
// sandbox cannot raise an rlimit (that needs CAP_SYS_RESOURCE in the
// machine's user namespace).
type SandboxLimits struct {
	// Procs caps the tasks (threads count) each user id of the sandbox
	// may have at once: RLIMIT_NPROC, counted per user namespace.
	Procs int `json:"procs,omitempty"`
	// Memory caps each process's data (heap, anonymous mappings), in
	// bytes: RLIMIT_DATA.
	Memory uint64 `json:"memory,omitempty"`
	// Namespaces caps the namespaces of each type made inside the
	// sandbox: /proc/sys/user/max_*_namespaces of its user namespace.
	Namespaces int `json:"namespaces,omitempty"`
	// ReadOnly makes the machine's file systems read-only in the sandbox;
	// /run and /tmp are tmpfs of its own.
	ReadOnly bool `json:"read_only,omitempty"`
}

// SandboxOptions describe a lab to start in a new sandbox.
type SandboxOptions struct {
	// Args is the nslab command line to run inside, without the program
	// name: nil for the terminal UI, {"run", "hello", "--yes"}, ...
	Args []string
	// Stdin, Stdout and Stderr are given to the lab as they are (a
	// terminal stays the lab's terminal); nil means /dev/null.
	Stdin, Stdout, Stderr *os.File
	// Env is the lab's environment; nil means this process's.
	Env []string
	// Dir is the lab's working directory; "" means this process's.
	Dir string
	// Setsid starts the sandbox in a session of its own; with Setctty,
	// Stdin (a terminal no session holds, such as a fresh pty) becomes its
	// controlling terminal. For a server giving each learner a pty.
	Setsid, Setctty bool
	// Credential, for a caller that is root, starts the sandbox as this
	// account: the user namespace is then that account's, as if the
	// account had started nslab itself.
	Credential *syscall.Credential
	// Why says why the lab runs in a sandbox, for nslab doctor and the UI.
	Why string
	// Limits bound the lab (processes, memory, namespaces, writes); nil
	// for none.
	Limits *SandboxLimits
}
