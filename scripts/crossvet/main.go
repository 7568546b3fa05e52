package main

import (
	"flag"
	"fmt"
	"go/ast"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/analysis/suite/vet"
	"golang.org/x/tools/go/packages"
)

func main() {
	dir := flag.String("C", ".", "the module's folder")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: crossvet [-C DIR] GOOS/GOARCH... [-- PATTERN...] (default pattern ./...)")
	}
	flag.Parse()
	targets, patterns := flag.Args(), []string{"./..."}
	if i := slices.Index(targets, "--"); i >= 0 {
		targets, patterns = targets[:i], targets[i+1:]
	}
	if len(targets) == 0 || len(patterns) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	failed := false
	for _, target := range targets {
		goos, goarch, ok := strings.Cut(target, "/")
		if !ok || goos == "" || goarch == "" {
			fmt.Fprintf(os.Stderr, "crossvet: %q is not GOOS/GOARCH\n", target)
			os.Exit(2)
		}
		findings, err := check(*dir, goos, goarch, patterns)
		if err != nil {
			fmt.Fprintf(os.Stderr, "crossvet %s: %v\n", target, err)
			os.Exit(2)
		}
		for _, f := range findings {
			fmt.Printf("%s: %s\n", target, f)
		}
		fmt.Fprintf(os.Stderr, "crossvet %s: %d findings\n", target, len(findings))
		failed = failed || len(findings) > 0
	}
	if failed {
		os.Exit(1)
	}
}

// check loads the packages matched by patterns, with their tests, as GOOS/GOARCH's build selects
// their files, and returns its findings, each once, in the order found.
func check(dir, goos, goarch string, patterns []string) ([]string, error) {
	cfg := &packages.Config{
		Mode:  packages.LoadAllSyntax, // dependencies too, from source: nothing is compiled
		Tests: true,
		Dir:   dir,
		Env:   append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0"),
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, err
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("no packages match %s", strings.Join(patterns, " "))
	}
	var findings []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			findings = append(findings, s)
		}
	}
	// Errors of listing, parsing and type checking, in the packages and their dependencies.
	packages.Visit(pkgs, nil, func(p *packages.Package) {
		for _, e := range p.Errors {
			add(e.Error())
		}
	})
	for _, p := range pkgs {
		for _, f := range missingBodies(p) {
			add(f)
		}
	}
	if len(findings) > 0 {
		return findings, nil // the analyzers need well-typed packages
	}
	analyzers, err := vetAnalyzers()
	if err != nil {
		return nil, err
	}
	graph, err := checker.Analyze(analyzers, pkgs, nil)
	if err != nil {
		return nil, err
	}
	for _, act := range graph.Roots {
		for _, d := range act.Diagnostics {
			add(fmt.Sprintf("%s: %s (vet %s)", act.Package.Fset.Position(d.Pos), d.Message, act.Analyzer.Name))
		}
		if act.Err != nil {
			add(fmt.Sprintf("%s: vet %s: %v", act.Package.PkgPath, act.Analyzer.Name, act.Err))
		}
	}
	return findings, nil
}

// vetAnalyzers are the analyzers of this Go toolchain's vet (go tool vet help), from x/tools'
// copy of vet's suite: the pinned x/tools may have newer ones, which go vet on the host would not
// run. An analyzer of the toolchain's that the copy lacks is an error: update x/tools. Asked once
// for all the platforms.
var vetAnalyzers = sync.OnceValues(func() ([]*analysis.Analyzer, error) {
	out, err := exec.Command("go", "tool", "vet", "help").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go tool vet help: %v: %s", err, out)
	}
	_, list, ok := strings.Cut(string(out), "Registered analyzers:")
	if !ok {
		return nil, fmt.Errorf("go tool vet help lists no analyzers:\n%s", out)
	}
	list, _, _ = strings.Cut(list, "By default")
	var analyzers []*analysis.Analyzer
	for line := range strings.Lines(list) {
		fields := strings.Fields(line)
		if len(fields) == 0 || !strings.HasPrefix(line, "    ") {
			continue
		}
		i := slices.IndexFunc(vet.Suite, func(a *analysis.Analyzer) bool { return a.Name == fields[0] })
		if i < 0 {
			return nil, fmt.Errorf("go vet's analyzer %s is not in golang.org/x/tools' vet suite: update golang.org/x/tools", fields[0])
		}
		analyzers = append(analyzers, vet.Suite[i])
	}
	if len(analyzers) == 0 {
		return nil, fmt.Errorf("no analyzers in go tool vet help:\n%s", out)
	}
	return analyzers, nil
})

// missingBodies reports the functions of p declared without a body where p has no assembly for
// this platform: the compiler refuses them ("missing function body"), the type checker does not.
// A //go:linkname in the file can supply the body.
func missingBodies(p *packages.Package) []string {
	if slices.ContainsFunc(p.OtherFiles, func(f string) bool { return strings.HasSuffix(f, ".s") }) {
		return nil
	}
	var found []string
	for _, file := range p.Syntax {
		linkname := slices.ContainsFunc(file.Comments, func(g *ast.CommentGroup) bool {
			return slices.ContainsFunc(g.List, func(c *ast.Comment) bool { return strings.HasPrefix(c.Text, "//go:linkname ") })
		})
		for _, decl := range file.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Body == nil && !linkname {
				found = append(found, fmt.Sprintf("%s: missing function body: %s", p.Fset.Position(fn.Pos()), fn.Name.Name))
			}
		}
	}
	return found
}
