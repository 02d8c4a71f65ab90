// Package scenarios holds nslab's lessons and reads them.
//
// A scenario is a Markdown file: YAML front matter (id, title, summary,
// level, minutes, tags, requires), an introduction, then one `##` heading per
// step. A step holds prose and fenced blocks: `lab` (commands the lab runs),
// `check` (expect lines that must hold after it), `lab unattended` (what a
// hands-on step asks the learner to type, run only when nobody is at the
// keyboard), `sh` and `go` (what the same looks like with iproute2 or in Go,
// shown, not run), and `hint` (shown when a check fails). docs/authoring.md
// is the writer's guide.
//
// The catalog is embedded in the binary; an instructor adds their own with
// --scenarios DIR:
//
//	list, errs := scenarios.Catalog(dirs...) // errs: files that do not lint, never run
//	sc.CheckRequires(lab.Features(lab.Doctor())) // sc.Available, sc.Reason
//	sc, err := scenarios.Load("my.md")           // or Parse(name, bytes)
//
// Every load error is a *script.SyntaxError at file:line:col: front matter,
// fences, the command language, and names used before anything made them.
//
// Running a lesson (what `nslab run` and the TUI do):
//
//	r := script.NewRunner(session)
//	err := sc.Rebuild(ctx, r, from)  // quietly replay steps [0, from): --from, a jump
//	res := sc.Steps[i].Run(ctx, r, scenarios.StepOptions{
//		Unattended: yes,              // also run `lab unattended` blocks
//		OnEvent:    func(e scenarios.Event) { ... }, // CommandStarted/Done, CheckStarted/Done
//	})
//	// res.Commands, res.Checks ([]script.Result), res.NotRun, res.OK
package scenarios
