package examples

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The examples are what a reader takes home: they use netns, netlink,
// x/sys and x/net, never nslab's own packages (only each other's nsdo).
func TestExamplesImportNoNslabPackage(t *testing.T) {
	filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "github.com/nslab/nslab/") && !strings.HasPrefix(p, "github.com/nslab/nslab/docs/examples/") {
				t.Errorf("%s imports %s: an example must not use nslab's packages", path, p)
			}
		}
		return nil
	})
}
