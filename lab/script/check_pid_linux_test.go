package script_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab/script"
)

func TestAChildInANewPIDNamespaceIsPID1(t *testing.T) {
	r, _ := newRunner(t)
	p, q := labtest.Name("p"), labtest.Name("q")
	run(t, r, `
spawn `+p+` pid
spawn `+q+`
expect pid `+p+` == 1
expect pid `+q+` > 1
expect pid self > 1
`)
	// And the check fails when the claim is false.
	stmts, err := script.Parse("x", 1, "expect pid "+q+" == 1")
	if err != nil {
		t.Fatal(err)
	}
	res := r.Run(context.Background(), stmts)
	if len(res) != 1 || !script.IsCheckFailure(res[0].Err) || !strings.Contains(res[0].Err.Error(), "NSpid is") {
		t.Errorf("expect pid on a child without a PID namespace: %+v, want a failure showing NSpid", res)
	}
}

func TestExecEntersAUserNamespaceWithoutAMap(t *testing.T) {
	r, _ := newRunner(t)
	u, h := labtest.Name("u"), labtest.Name("h")
	run(t, r, `
spawn `+u+` user
exec -p `+u+` -- id -u
expect output contains 65534
idmap `+u+` uid 1000 0 1 gid 1000 0 1
exec -p `+u+` -- id
expect output contains uid=1000
expect output contains gid=1000
spawn `+h+` uts
expect hostname `+h+` == host
exec -p `+h+` -- hostname nslab-renamed
expect hostname `+h+` != host
expect hostname host != nslab-renamed
`)
}
