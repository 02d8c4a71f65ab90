package lab_test

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

func TestDoctorReportsThisMachine(t *testing.T) {
	labtest.RequireRoot(t)
	checks := lab.Doctor()
	byName := map[string]lab.Check{}
	for _, c := range checks {
		byName[c.Name] = c
	}
	for _, name := range []string{"privileges", "network namespaces", "veth pairs", "bridges"} {
		if c := byName[name]; c.Status != lab.StatusOK {
			t.Errorf("%s: %s (%s), want ok as root on Linux", name, c.Status, c.Detail)
		}
	}
	if !lab.Ready(checks) {
		t.Error("doctor says the lab cannot run, as root with netns, veth and bridge")
	}
	// SCTP must be reported as the kernel really has it.
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_SCTP)
	if err == nil {
		unix.Close(fd)
	}
	sctp := byName["SCTP"]
	switch {
	case err == nil && sctp.Status != lab.StatusOK:
		t.Errorf("the kernel has SCTP but doctor says %s: %s", sctp.Status, sctp.Detail)
	case err != nil && (sctp.Status == lab.StatusOK || !strings.Contains(sctp.Detail, "no SCTP")):
		t.Errorf("socket(SCTP) fails with %v but doctor says %s: %s", err, sctp.Status, sctp.Detail)
	}
	if err != nil && !errors.Is(lab.SCTPSupported(), lab.ErrUnsupported) {
		t.Errorf("SCTPSupported() = %v, want an error wrapping ErrUnsupported", lab.SCTPSupported())
	}
	if f := lab.Features(checks); f["sctp"] != (err == nil) || !f["netns"] {
		t.Errorf("features = %v", f)
	}
	// Trying link types leaves no link behind.
	if out := lab.StillThere([]lab.Entry{{Kind: lab.KindLink, Name: "doctor0"}, {Kind: lab.KindLink, Name: "doctorbr"}}); len(out) > 0 {
		t.Errorf("doctor left links on the host: %v", out)
	}
}
