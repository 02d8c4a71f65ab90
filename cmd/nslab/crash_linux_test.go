package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

// crashScenario builds a topology with every kind of resource: namespaces,
// a host bridge, veth pairs, a spawned child, addresses, sockets.
func crashScenario(tag string) string {
	return fmt.Sprintf(`---
id: crash-%[1]s
title: Crash target
summary: a topology to kill in the middle of
level: beginner
minutes: 1
---
## Build
`+"```lab"+`
netns add %[1]sa
netns add %[1]sb
link add %[1]s type bridge
link set %[1]s up
link add ha%[1]s type veth peer eth0 netns %[1]sa
link set ha%[1]s master %[1]s
link add hb%[1]s type veth peer eth0 netns %[1]sb
link set hb%[1]s master %[1]s
addr add 10.77.0.1/24 dev eth0 -n %[1]sa
addr add 10.77.0.2/24 dev eth0 -n %[1]sb
link set eth0 up -n %[1]sa
link set eth0 up -n %[1]sb
link set ha%[1]s up
link set hb%[1]s up
spawn c%[1]s net,uts,pid,mnt hostname c
link add hc%[1]s type veth peer eth0 netns c%[1]s
link set lo up -n %[1]sa
listen tcp 127.0.0.1:80 -n %[1]sa as web
ping 10.77.0.2 -n %[1]sa -c 1
exec -n %[1]sa -- ip -br addr
`+"```"+`
`+"```check"+`
expect ping 10.77.0.2 -n %[1]sa ok
`+"```"+`
`, tag)
}

func TestKill9AtTwentyPointsThenCleanup(t *testing.T) {
	labtest.RequireRoot(t)
	if testing.Short() {
		t.Skip("20 runs of a scenario, each killed")
	}
	bin := nslabBin(t)
	// A look-alike that no journal records must survive all of it.
	foreign := "nslab-" + labtest.Name("keep")
	if out, err := exec.Command("ip", "netns", "add", foreign).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", foreign).Run()

	survived := 0
	for point := 1; point <= 20; point++ {
		dir := t.TempDir()
		tag := labtest.Name("k")[1:]
		file := filepath.Join(dir, "crash.md")
		os.WriteFile(file, []byte(crashScenario(tag)), 0o644)
		env := append(os.Environ(), "NSLAB_RUN_DIR="+filepath.Join(dir, "run"))

		cmd := exec.Command(bin, "run", file, "--yes")
		cmd.Env = env
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Each "  $ command" line is printed after the command ran: kill
		// after the point-th one.
		sc := bufio.NewScanner(out)
		n := 0
		for n < point && sc.Scan() {
			if strings.HasPrefix(sc.Text(), "  $ ") {
				n++
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()

		jfs, _ := lab.ReadJournals(filepath.Join(dir, "run"))
		if len(jfs) != 1 {
			t.Fatalf("point %d: %d journals", point, len(jfs))
		}
		made := jfs[0].Live
		if len(lab.StillThere(made)) == 0 {
			t.Fatalf("point %d: the killed run left nothing standing: the point proves nothing", point)
		}
		clean := exec.Command(bin, "cleanup")
		clean.Env = env
		if b, err := clean.CombinedOutput(); err != nil {
			t.Fatalf("point %d: nslab cleanup: %v\n%s", point, err, b)
		}
		if left := lab.StillThere(made); len(left) > 0 {
			t.Fatalf("point %d: left after nslab cleanup: %v", point, left)
		}
		if _, err := os.Stat(filepath.Join(lab.NetnsDir, foreign)); err != nil {
			t.Fatalf("point %d: cleanup removed %s, which nslab did not make", point, foreign)
		}
		survived++
	}
	t.Logf("%d kill -9 points, each cleaned up with nothing left", survived)
}
