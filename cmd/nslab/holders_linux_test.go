package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

// nslab inspect --holders, by /run/netns name and as JSON: a socket the
// lab holds in a namespace is named beside the bind mount, and lsns's
// blind spot is stated.
func TestInspectHolders(t *testing.T) {
	s := labtest.New(t)
	name := labtest.Name("ih")
	n, err := s.AddNetns(name)
	if err != nil {
		t.Fatal(err)
	}
	l, err := lab.ListenIn(n, "tcp", "127.0.0.1:7412")
	n.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var out bytes.Buffer
	if err := runHolders(&out, name, "net", false); err != nil {
		t.Fatal(err)
	}
	// (Other tests' private mount namespaces may hold copies of the mount
	// too: each is a holder, so mounts are counted as at least one.)
	for _, want := range []string{" 1 socket\n", "mount    /run/netns/" + lab.SysName(name), "tcp 127.0.0.1:7412 LISTEN", "lsns does not list it"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := runHolders(&out, "/run/netns/"+lab.SysName(name), "net", true); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Path    string `json:"path"`
		Type    string `json:"type"`
		Holders []struct {
			Kind string `json:"kind"`
		} `json:"holders"`
		Lsns bool `json:"listed_by_lsns"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Type != "net" || rep.Lsns {
		t.Errorf("JSON %+v (%v):\n%s", rep, err, out.String())
	}
	kinds := map[string]int{}
	for _, h := range rep.Holders {
		kinds[h.Kind]++
	}
	if kinds["socket"] != 1 || kinds["mount"] < 1 || len(kinds) != 2 {
		t.Errorf("JSON holders by kind %v, want mounts and one socket:\n%s", kinds, out.String())
	}
	var ee *exitError
	if err := runHolders(&out, "nosuch-"+name, "net", false); !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), "ip netns list") {
		t.Errorf("an unknown name: %v, want a usage error (exit 2) that says what to give", err)
	}
}
