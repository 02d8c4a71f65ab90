package proxy

import (
	"fmt"
	"strings"

	"github.com/nslab/nslab/lab"
)

// ParseTenant reads a tenant as the config, the command line and the
// control API write it: NAME, whose namespace is NAME (a lab namespace or
// any /run/netns name), or NAME=NETNS with any namespace reference (see
// lab.ParseNetnsRef): a /run/netns name, a path such as a container
// runtime's /var/run/docker/netns/1a2b3c or /proc/PID/ns/net, or pid:N.
// NAME is what {tenant} stands for in an http route's host or path, and
// how stats and metrics call the tenant.
func ParseTenant(spec string) (name, ref string, err error) {
	name, ref, hasRef := strings.Cut(spec, "=")
	if err := lab.ValidateNetnsName(name); err != nil {
		if !hasRef && lab.ValidateNetnsRef(spec) == nil {
			return "", "", fmt.Errorf("tenant %q: a tenant needs a name: write NAME=%s, like web=%s", spec, spec, spec)
		}
		return "", "", fmt.Errorf("tenant %q: %w", spec, err)
	}
	if !hasRef {
		return name, name, nil
	}
	if err := lab.ValidateNetnsRef(ref); err != nil {
		return "", "", fmt.Errorf("tenant %q: %w", spec, err)
	}
	if lab.IsHost(ref) {
		return "", "", fmt.Errorf("tenant %q: the host namespace is not a tenant", spec)
	}
	return name, ref, nil
}

// tenantSpec writes a tenant back as ParseTenant reads it.
func tenantSpec(name, ref string) string {
	if ref == name || ref == "" {
		return name
	}
	return name + "=" + ref
}
