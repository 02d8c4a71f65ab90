package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

func TestTheManualPageCoversEveryCommandAndReadsCleanly(t *testing.T) {
	buildCommands()
	var b bytes.Buffer
	if err := writeMan(&b, root, time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	walk(root, func(c *cobra.Command) {
		if c != root && c.IsAvailableCommand() && c.Name() != "help" && c.Parent().Name() != "completion" {
			if !strings.Contains(page, ".SS "+roffEscape(c.UseLine())) {
				t.Errorf("no section for %q", c.CommandPath())
			}
		}
	})
	for _, want := range []string{".TH NSLAB 1 \"2026-12-04\"", ".SH EXIT STATUS", ".B 2\nA usage error", ".SH ENVIRONMENT", "NSLAB_RUN_DIR", `\fB\-\-from\fR \fIstring\fR`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("no groff to check the roff with")
	}
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z")
	cmd.Stdin = strings.NewReader(page)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("groff: %v\n%s", err, out)
	}
}
