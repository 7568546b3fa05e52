package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeModels writes a table of models from two families with planted scaling laws
// (y_inf, gap at 1e18, alpha) and a third family too small to fit.
func writeModels(t *testing.T, dir string) string {
	t.Helper()
	r := rand.New(rand.NewPCG(4, 4))
	var b strings.Builder
	b.WriteString("# planted: vit 0.5 0.2 0.15; convnet 0.4 0.15 0.3\nmodel,family,compute,score\n")
	for _, f := range []struct {
		name             string
		yinf, gap, alpha float64
	}{{"vit", 0.5, 0.2, 0.15}, {"convnet", 0.4, 0.15, 0.3}} {
		for i := 0; i < 30; i++ {
			x := math.Pow(10, 15+7*r.Float64())
			fmt.Fprintf(&b, "%s-%d,%s,%.6g,%.6f\n", f.name, i, f.name, x, f.yinf-f.gap*math.Pow(x/1e18, -f.alpha)+0.005*r.NormFloat64())
		}
	}
	b.WriteString("tiny-1,tiny,1e15,0.1\ntiny-2,tiny,1e16,0.2\n")
	return writeText(t, dir, "models.csv", b.String())
}

func TestScalingCommand(t *testing.T) {
	dir := t.TempDir()
	table := writeModels(t, dir)
	out := filepath.Join(dir, "res")
	stdout := mustRun(t, "scaling", "--table", table, "--group", "family", "--bootstrap", "200", "--predict", "1e20,1e24", "--out", out)
	for _, want := range []string{"vit: 30 models", "convnet: 30 models", "tiny: 2 models, not fitted: 2 distinct x", "saturation supported", "(extrapolated)", "200 resamples"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	doc := readJSON(t, filepath.Join(out, "scaling.json"))
	groups := get(t, doc, "groups").([]any)
	if len(groups) != 3 {
		t.Fatalf("%d groups", len(groups))
	}
	for i, want := range [][3]float64{{0.5, 0.2, 0.15}, {0.4, 0.15, 0.3}} {
		g := groups[i].(map[string]any)
		yinf, alpha := num(t, g, "fit", "power_law", "y_inf"), num(t, g, "fit", "power_law", "alpha")
		lo, hi := num(t, g, "fit", "bootstrap", "alpha", "lo"), num(t, g, "fit", "bootstrap", "alpha", "hi")
		if math.Abs(yinf-want[0]) > 0.02 || math.Abs(alpha-want[2]) > 0.02 || !(lo < want[2] && want[2] < hi) {
			t.Errorf("%s: y_inf %v, alpha %v [%v, %v]; planted %v", g["group"], yinf, alpha, lo, hi, want)
		}
		if p := get(t, g, "fit", "predictions").([]any); len(p) != 2 {
			t.Errorf("%s: %d predictions", g["group"], len(p))
		}
	}
	if e := groups[2].(map[string]any)["error"]; e == nil || !strings.Contains(e.(string), "distinct x") {
		t.Errorf("tiny: error %v", e)
	}
	tab := mustRead(t, filepath.Join(out, "scaling.csv"))
	lines := strings.Split(strings.TrimSpace(string(tab)), "\n")
	header := strings.Split(lines[0], ",")
	if len(lines) != 4 {
		t.Fatalf("scaling.csv: %d lines", len(lines))
	}
	for _, l := range lines[1:] {
		if c := strings.Split(l, ","); len(c) != len(header) {
			t.Errorf("scaling.csv: %d cells in %q, header has %d", len(c), l, len(header))
		}
	}
	if !strings.HasPrefix(lines[1], "vit,30,30,") || !strings.HasSuffix(lines[3], "2 distinct x values; need at least 3") {
		t.Errorf("scaling.csv rows:\n%s", tab)
	}
	curve := mustRead(t, filepath.Join(out, "curve.csv"))
	if n := strings.Count(string(curve), "\n"); n != 1+2*(100+2) {
		t.Errorf("curve.csv: %d lines", n)
	}
	checkPNGFile(t, filepath.Join(out, "scaling.png"))

	// Tab-separated, one group, no bootstrap, no figure, into the same folder.
	tsv := writeText(t, dir, "models.tsv", strings.ReplaceAll(strings.ReplaceAll(string(mustRead(t, table)), ",", "\t"), "tiny", "vit"))
	out2 := filepath.Join(dir, "res2")
	stdout = mustRun(t, "scaling", "--table", tsv, "--bootstrap", "0", "--no-figures", "--out", out2)
	if !strings.Contains(stdout, "all: 62 models") || strings.Contains(stdout, "intervals:") {
		t.Errorf("tsv: %s", stdout)
	}
	if _, err := os.Stat(filepath.Join(out2, "scaling.png")); err == nil {
		t.Error("--no-figures wrote scaling.png")
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestScalingCommandErrors(t *testing.T) {
	dir := t.TempDir()
	table := writeModels(t, dir)
	write := func(name, s string) string { return writeText(t, dir, name, s) }
	out := filepath.Join(dir, "out")
	wantError(t, 1, `no column "flops" for x (columns: model, family, compute, score)`, "scaling", "--table", table, "--x", "flops", "--out", out)
	wantError(t, 1, `no column "fam" for the groups`, "scaling", "--table", table, "--group", "fam", "--out", out)
	wantError(t, 1, `bad.csv line 3: score "n/a" is not a number`, "scaling", "--table", write("bad.csv", "compute,score\n1,0.1\n10,n/a\n"), "--out", out)
	wantError(t, 1, `empty.csv line 2: compute is empty`, "scaling", "--table", write("empty.csv", "compute,score\n,0.1\n"), "--out", out)
	wantError(t, 1, `neg.csv line 2: compute = -5; must be positive`, "scaling", "--table", write("neg.csv", "compute,score\n-5,0.1\n"), "--out", out)
	wantError(t, 1, `nan.csv line 2: score is NaN`, "scaling", "--table", write("nan.csv", "compute,score\n5,NaN\n"), "--out", out)
	wantError(t, 1, `cells.csv: line 3: a different number of cells`, "scaling", "--table", write("cells.csv", "compute,score\n1,0.1\n2\n"), "--out", out)
	wantError(t, 1, `none.csv: empty table`, "scaling", "--table", write("none.csv", ""), "--out", out)
	wantError(t, 1, `head.csv: no rows after the header`, "scaling", "--table", write("head.csv", "compute,score\n"), "--out", out)
	wantError(t, 1, `dup.csv: column "score" appears twice`, "scaling", "--table", write("dup.csv", "compute,score,score\n1,2,3\n"), "--out", out)
	wantError(t, 1, `few.csv: cannot fit a scaling law: 3 points; need at least 4`, "scaling", "--table", write("few.csv", "compute,score\n1,0.1\n10,0.2\n100,0.25\n"), "--out", out)
	wantError(t, 1, `flat.csv: cannot fit a scaling law: y is constant`, "scaling", "--table", write("flat.csv", "compute,score\n1,0.1\n10,0.1\n100,0.1\n1000,0.1\n"), "--out", out)
	wantError(t, 1, `no such file`, "scaling", "--table", filepath.Join(dir, "missing.csv"), "--out", out)
	wantError(t, 2, `--level 1.5`, "scaling", "--table", table, "--level", "1.5", "--out", out)
	wantError(t, 2, `--bootstrap -1`, "scaling", "--table", table, "--bootstrap", "-1", "--out", out)
	wantError(t, 2, `--predict: "-1e20" is not a positive number`, "scaling", "--table", table, "--predict", "1e24,-1e20", "--out", out)
	wantError(t, 2, `Required flag "table" not set`, "scaling", "--out", out)
	wantError(t, 2, ``, "scaling", "--table", table, "--out", out, "extra")
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed run left %s", out)
	}
}

// TestScalingDocsExample runs the example of docs/study.md and requires the output shown there,
// and the planted exponents inside their intervals.
func TestScalingDocsExample(t *testing.T) {
	doc := string(mustRead(t, filepath.Join("..", "..", "docs", "study.md")))
	const prompt = "$ cd docs && brainalign "
	i := strings.Index(doc, prompt)
	if i < 0 {
		t.Fatal("docs/study.md: no scaling example")
	}
	block, _, _ := strings.Cut(doc[i:], "```")
	lines := strings.Split(strings.TrimSpace(block), "\n")
	args := strings.Fields(strings.TrimPrefix(lines[0], prompt))
	out := t.TempDir()
	for k := range args {
		if k > 0 && args[k-1] == "--out" {
			args[k] = filepath.Join(out, "scaling")
		}
	}
	t.Chdir(filepath.Join("..", "..", "docs"))
	got := strings.Split(strings.TrimSpace(mustRun(t, args...)), "\n")
	want := lines[1 : len(lines)-1] // without the command and the "wrote" line
	if len(got) != len(want)+1 {
		t.Fatalf("%d lines, docs show %d:\n%s", len(got), len(want)+1, strings.Join(got, "\n"))
	}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("line %d:\n got  %s\n docs %s", k+1, got[k], want[k])
		}
	}
	for _, c := range []struct {
		group   string
		planted float64
	}{{"vit", 0.15}, {"convnet", 0.25}} {
		for _, l := range got {
			if strings.HasPrefix(l, "  "+c.group+":") {
				var a, lo, hi float64
				_, after, _ := strings.Cut(l, "alpha ")
				if _, err := fmt.Sscanf(after, "%g [%g, %g]", &a, &lo, &hi); err != nil || !(lo < c.planted && c.planted < hi && lo < a && a < hi) {
					t.Errorf("%s: alpha %v [%v, %v] (%v); planted %v", c.group, a, lo, hi, err, c.planted)
				}
			}
		}
	}
}
