package scenarios

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The Go a lesson shows is excerpts of the programs in docs/examples: each
// ```go block is one or more sections, each a line naming the file and then
// whole declarations of it (with their doc comments), exactly as they are
// there. This test holds every block to its file; -update rewrites the
// blocks from the files, keeping which declarations each section shows.

var update = flag.Bool("update", false, "rewrite the lessons' go blocks from docs/examples")

var headerRe = regexp.MustCompile(`^// (docs/examples/[\w./-]+\.go)$`)

// repoRoot is where docs/examples is, from this package's directory.
const repoRoot = ".."

func TestEveryGoBlockIsAnExcerptOfAnExample(t *testing.T) {
	files, _ := filepath.Glob("*.md")
	if len(files) == 0 {
		t.Fatal("no lessons")
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out, errs := excerpts(f, string(src))
		for _, e := range errs {
			t.Error(e)
		}
		if *update && len(errs) == 0 && out != string(src) {
			if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if out != string(src) {
			t.Errorf("%s: a go block differs from the program it comes from; run go test ./scenarios -run GoBlock -update (then read the diff)", f)
		}
	}
}

// Every step of every lesson shows its Go.
func TestEveryStepHasGo(t *testing.T) {
	list, errs := Catalog()
	for _, err := range errs {
		t.Fatal(err)
	}
	for _, sc := range list {
		for i, st := range sc.Steps {
			if strings.TrimSpace(st.Go) == "" {
				t.Errorf("%s step %d (%s) has no go block", sc.ID, i+1, st.Title)
			}
		}
	}
}

// excerpts returns the lesson with every go block rebuilt from its files,
// and what is wrong with the blocks.
func excerpts(file, src string) (string, []error) {
	lines := strings.Split(src, "\n")
	var out []string
	var errs []error
	for i := 0; i < len(lines); i++ {
		out = append(out, lines[i])
		if strings.TrimSpace(lines[i]) != "```go" {
			continue
		}
		start := i + 1
		end := start
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		block, err := rebuild(lines[start:end])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %v", file, start+1, err))
			block = lines[start:end]
		}
		out = append(out, block...)
		i = end - 1
	}
	return strings.Join(out, "\n"), errs
}

// rebuild re-reads each section of a block from its file.
func rebuild(block []string) ([]string, error) {
	var out []string
	for i := 0; i < len(block); {
		m := headerRe.FindStringSubmatch(block[i])
		if m == nil {
			return nil, fmt.Errorf("a go block starts each excerpt with the file it comes from, like // docs/examples/veth/main.go; found %q", block[i])
		}
		j := i + 1
		for j < len(block) && !headerRe.MatchString(block[j]) {
			j++
		}
		names, err := declNames(strings.Join(block[i+1:j], "\n"))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", m[1], err)
		}
		decls, err := declSources(filepath.Join(repoRoot, m[1]))
		if err != nil {
			return nil, err
		}
		if len(out) > 0 {
			out = append(out, "")
		}
		out = append(out, block[i])
		for k, n := range names {
			d, ok := decls[n]
			if !ok {
				return nil, fmt.Errorf("%s has no declaration %s", m[1], n)
			}
			if k > 0 {
				out = append(out, "")
			}
			out = append(out, strings.Split(d, "\n")...)
		}
		for len(out) > 0 && out[len(out)-1] == "" {
			out = out[:len(out)-1]
		}
		i = j
	}
	return out, nil
}

// declNames lists the declarations of an excerpt, in order: functions
// (methods as Type.Name) and the types, variables and constants declared.
func declNames(body string) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p\n"+body, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("the excerpt does not parse: %v", err)
	}
	var out []string
	for _, d := range f.Decls {
		out = append(out, declName(d))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the excerpt holds no declaration")
	}
	return out, nil
}

func declName(d ast.Decl) string {
	switch d := d.(type) {
	case *ast.FuncDecl:
		if d.Recv != nil && len(d.Recv.List) > 0 {
			t := d.Recv.List[0].Type
			if s, ok := t.(*ast.StarExpr); ok {
				t = s.X
			}
			if id, ok := t.(*ast.Ident); ok {
				return id.Name + "." + d.Name.Name
			}
		}
		return d.Name.Name
	case *ast.GenDecl:
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.TypeSpec:
				return s.Name.Name
			case *ast.ValueSpec:
				return s.Names[0].Name
			}
		}
	}
	return "?"
}

// declSources maps each declaration of a file to its text, doc comment
// included.
func declSources(path string) (map[string]string, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fs := token.NewFileSet()
	f, err := parser.ParseFile(fs, path, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		start := d.Pos()
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Doc != nil {
				start = d.Doc.Pos()
			}
		case *ast.GenDecl:
			if d.Doc != nil {
				start = d.Doc.Pos()
			}
		}
		text := string(bytes.TrimSpace(src[fs.Position(start).Offset:fs.Position(d.End()).Offset]))
		out[declName(d)] = text
	}
	return out, nil
}
