package lab

import (
	"encoding/json"
	"os"
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
