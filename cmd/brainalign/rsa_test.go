package main

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/rsa"
)

// writeRSAStudy writes, over n images, activations that are a noisy linear map of latents
// (good.npy, 12 features), activations unrelated to them (bad.npy), and brain data of 30 targets
// driven by the latents, with ROI labels (three ROIs of 8 targets, 6 unlabelled) and their names.
func writeRSAStudy(t *testing.T, dir string, n int) (good, bad, brain, roi, names string) {
	t.Helper()
	r := rand.New(rand.NewPCG(21, 22))
	const k, d, m = 5, 12, 30
	lat := make([]float64, n*k)
	for i := range lat {
		lat[i] = r.NormFloat64()
	}
	mix := func(cols int, noise float64, related bool) []float64 {
		w := make([]float64, k*cols)
		for i := range w {
			w[i] = r.NormFloat64()
		}
		v := make([]float64, n*cols)
		for i := range n {
			for j := range cols {
				s := noise * r.NormFloat64()
				if related {
					for l := range k {
						s += lat[i*k+l] * w[l*cols+j]
					}
				}
				v[i*cols+j] = s
			}
		}
		return v
	}
	write := func(name string, shape []int, v any) string {
		p := filepath.Join(dir, name)
		if err := array.WriteNPY(p, shape, v); err != nil {
			t.Fatal(err)
		}
		return p
	}
	g := mix(d, 1, true)
	g32 := make([]float32, len(g))
	for i := range g {
		g32[i] = float32(g[i])
	}
	good = write("good.npy", []int{n, d}, g32)
	bad = write("bad.npy", []int{n, d}, mix(d, 1, false))
	brain = write("brain.npy", []int{n, m}, mix(m, 1.5, true))
	labels := make([]int64, m)
	for j := range labels {
		labels[j] = int64(j / 8)
		if j >= 24 {
			labels[j] = -1
		}
	}
	roi = write("roi.npy", []int{m}, labels)
	names = filepath.Join(dir, "roi_names.txt")
	if err := os.WriteFile(names, []byte("V1\nV4\nIT\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return good, bad, brain, roi, names
}

type rsaDoc struct {
	Command string         `json:"command"`
	Version string         `json:"version"`
	Stimuli int            `json:"stimuli"`
	Options map[string]any `json:"options"`
	Inputs  map[string]any `json:"inputs"`
	Results []struct {
		Features string   `json:"features"`
		ROI      string   `json:"roi"`
		Targets  int      `json:"targets"`
		RSA      float64  `json:"rsa"`
		P        *float64 `json:"p"`
		CKA      float64  `json:"cka"`
		// nil where undefined (fewer than 4 images), as a pointer to tell that from 0
		CKADebiased *float64 `json:"cka_debiased"`
	} `json:"results"`
}

func readRSADoc(t *testing.T, dir string) rsaDoc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "rsa.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc rsaDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestRSACommand(t *testing.T) {
	dir := t.TempDir()
	good, bad, brain, roi, names := writeRSAStudy(t, dir, 80)
	out := filepath.Join(dir, "res")
	stdout := mustRun(t, "rsa", "--features", good, "--features", "random="+bad, "--brain", brain, "--roi", roi, "--roi-names", names,
		"--permutations", "99", "--seed", "5", "--save-rdms", "--out", out)
	for _, want := range []string{"RSA over 80 images: correlation RDMs compared by spearman; linear CKA, biased and debiased", "good vs V1 (8 targets)",
		"random vs all (30 targets)", "(debiased "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	doc := readRSADoc(t, out)
	if doc.Command != "rsa" || doc.Version == "" || doc.Stimuli != 80 || doc.Options["distance"] != "correlation" || len(doc.Results) != 8 {
		t.Fatalf("rsa.json: %+v", doc)
	}
	score := map[string]float64{}
	for _, r := range doc.Results {
		score[r.Features+"/"+r.ROI] = r.RSA
		if r.P == nil || !(*r.P > 0 && *r.P <= 1) || math.Abs(*r.P*100-math.Round(*r.P*100)) > 1e-9 {
			t.Errorf("%s/%s: p %v", r.Features, r.ROI, r.P)
		}
		if r.CKADebiased == nil {
			t.Fatalf("%s/%s: no debiased CKA", r.Features, r.ROI)
		}
		if r.Features == "good" && !(r.RSA > 0.4 && r.CKA > 0.4 && *r.CKADebiased > 0.4 && *r.P == 0.01) {
			t.Errorf("good/%s: rsa %v, cka %v, debiased %v, p %v", r.ROI, r.RSA, r.CKA, *r.CKADebiased, *r.P)
		}
		// unrelated: debiased CKA is nearer 0 than biased CKA
		if r.Features == "random" && !(math.Abs(r.RSA) < 0.2 && math.Abs(*r.CKADebiased) < 0.1 && math.Abs(*r.CKADebiased) < r.CKA) {
			t.Errorf("random/%s: rsa %v, cka %v, debiased %v", r.ROI, r.RSA, r.CKA, *r.CKADebiased)
		}
	}
	csv, err := os.ReadFile(filepath.Join(out, "rsa.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(lines) != 9 || lines[0] != "features,roi,targets,rsa,p,cka,cka_debiased" || !strings.HasPrefix(lines[1], "good,all,30,") {
		t.Errorf("rsa.csv:\n%s", csv)
	}
	// the saved RDMs are the package's, and the scores theirs
	a, err := array.Read(filepath.Join(out, "rdm_brain_V4.npy"))
	if err != nil {
		t.Fatal(err)
	}
	defer array.CloseAll(a)
	f, err := array.Read(filepath.Join(out, "rdm_features_good.npy"))
	if err != nil {
		t.Fatal(err)
	}
	defer array.CloseAll(f)
	if a[0].Shape[0] != 80*79/2 {
		t.Fatalf("RDM of shape %v", a[0].Shape)
	}
	brainRDM := &rsa.RDM{N: 80, Values: a[0].F64}
	goodRDM := &rsa.RDM{N: 80, Values: f[0].F64}
	if r, _ := rsa.Compare(goodRDM, brainRDM, rsa.Spearman); r != score["good/V4"] {
		t.Errorf("saved RDMs' Spearman %v, rsa.json %v", r, score["good/V4"])
	}
	if ids, _ := os.ReadFile(filepath.Join(out, "stimuli.txt")); !strings.HasPrefix(string(ids), "0\n1\n2\n") {
		t.Errorf("stimuli.txt: %q", ids[:min(20, len(ids))])
	}
	if s := mustRun(t, "inspect", out); !strings.Contains(s, "results of brainalign rsa") || !strings.Contains(s, "rdm_brain_V4.npy") {
		t.Errorf("inspect of an rsa output:\n%s", s)
	}
}

// TestRSAMatchesSciPy runs the command on the package's SciPy/NumPy fixture: its scores are
// scipy's to 1e-12.
func TestRSAMatchesSciPy(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "rsa", "rsa.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []map[string]any `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	c := doc.Cases[0]
	floats := func(v any) []float64 {
		var out []float64
		for _, x := range v.([]any) {
			out = append(out, x.(float64))
		}
		return out
	}
	n, d, m := int(c["n"].(float64)), int(c["d"].(float64)), int(c["m"].(float64))
	dir := t.TempDir()
	xp, yp := filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy")
	array.WriteNPY(xp, []int{n, d}, floats(c["x"]))
	array.WriteNPY(yp, []int{n, m}, floats(c["y"]))
	for _, dist := range []string{"correlation", "euclidean"} {
		for _, cmp := range []string{"spearman", "pearson"} {
			out := filepath.Join(dir, dist+cmp)
			mustRun(t, "rsa", "--features", xp, "--brain", yp, "--distance", dist, "--compare", cmp, "--out", out)
			res := readRSADoc(t, out).Results[0]
			if want := c[cmp+"_"+dist].(float64); math.Abs(res.RSA-want) > 1e-12 {
				t.Errorf("%s/%s: %.17g, scipy %.17g", dist, cmp, res.RSA, want)
			}
			if want := c["cka"].(float64); math.Abs(res.CKA-want) > 1e-12 {
				t.Errorf("CKA %.17g, NumPy %.17g", res.CKA, want)
			}
			if want := c["cka_debiased"].(float64); res.CKADebiased == nil || math.Abs(*res.CKADebiased-want) > 1e-12 {
				t.Errorf("debiased CKA %v, exact %.17g", res.CKADebiased, want)
			}
		}
	}
}

// TestRSAIDsAndMask: rows matched by id in another order, an id on one side only, and a masked
// target holding NaN give the scores of the aligned data without that target.
func TestRSAIDsAndMask(t *testing.T) {
	dir := t.TempDir()
	const n, m = 30, 6
	r := rand.New(rand.NewPCG(31, 32))
	x := make([]float64, n*4)
	y := make([]float64, n*m)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	for i := range y {
		y[i] = x[(i/m)*4+(i%m)%4] + r.NormFloat64()
	}
	write := func(name string, shape []int, v any) string {
		p := filepath.Join(dir, name)
		if err := array.WriteNPY(p, shape, v); err != nil {
			t.Fatal(err)
		}
		return p
	}
	writeIDs := func(name string, ids []string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(strings.Join(ids, "\n")+"\n"), 0o644)
		return p
	}
	// reference: aligned rows, targets 0..4 (target 5 left out)
	yRef := make([]float64, n*(m-1))
	for i := range n {
		copy(yRef[i*(m-1):], y[i*m:i*m+m-1])
	}
	ref := filepath.Join(dir, "ref")
	mustRun(t, "rsa", "--features", "f="+write("x.npy", []int{n, 4}, x), "--brain", write("yref.npy", []int{n, m - 1}, yRef), "--out", ref)
	// features in reverse order with one extra row; brain data with NaN in a masked-out target
	xRev := make([]float64, (n+1)*4)
	var xIDs, yIDs []string
	for i := range n {
		copy(xRev[(n-1-i)*4:], x[i*4:i*4+4])
		yIDs = append(yIDs, "img"+string(rune('A'+i)))
	}
	for i := range n {
		xIDs = append(xIDs, yIDs[n-1-i])
	}
	xIDs = append(xIDs, "extra")
	yNaN := append([]float64(nil), y...)
	yNaN[3*m+5] = math.NaN()
	mask := write("mask.npy", []int{m}, []float64{1, 1, 1, 1, 1, 0})
	got := filepath.Join(dir, "got")
	_, stderr, code := runCLI(t, "rsa", "--features", "f="+write("xrev.npy", []int{n + 1, 4}, xRev), "--features-ids", writeIDs("x.txt", xIDs),
		"--brain", write("ynan.npy", []int{n, m}, yNaN), "--brain-ids", writeIDs("y.txt", yIDs), "--brain-mask", mask, "--out", got)
	if code != 0 || !strings.Contains(stderr, "1 stimulus ids only in the features f were left out: extra") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	a, b := readRSADoc(t, ref).Results[0], readRSADoc(t, got).Results[0]
	if math.Abs(a.RSA-b.RSA) > 1e-12 || math.Abs(a.CKA-b.CKA) > 1e-12 || b.Targets != m-1 {
		t.Errorf("aligned %+v, matched by id and masked %+v", a, b)
	}
}

func TestRSABadInput(t *testing.T) {
	dir := t.TempDir()
	good, _, brain, roi, _ := writeRSAStudy(t, dir, 20)
	write := func(name string, shape []int, v any) string {
		p := filepath.Join(dir, name)
		if err := array.WriteNPY(p, shape, v); err != nil {
			t.Fatal(err)
		}
		return p
	}
	random := func(n int) []float64 {
		r := rand.New(rand.NewPCG(uint64(n), 1))
		v := make([]float64, n)
		for i := range v {
			v[i] = r.NormFloat64()
		}
		return v
	}
	nan := random(20 * 30)
	nan[4*30+7] = math.NaN()
	constant := random(20 * 30)
	for j := range 30 {
		constant[6*30+j] = 2
	}
	ids := filepath.Join(dir, "ids.txt")
	os.WriteFile(ids, []byte("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\no\np\nq\nr\ns\nt\n"), 0o644)
	oneTarget := make([]int64, 30)
	for j := range oneTarget {
		oneTarget[j] = -1
	}
	oneTarget[3] = 0
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"mismatched rows", []string{"--features", write("x15.npy", []int{15, 4}, random(60)), "--brain", brain}, []string{"x15.npy", "15 rows", "20"}},
		{"nan in brain", []string{"--features", good, "--brain", write("nan.npy", []int{20, 30}, nan)}, []string{"nan.npy", "non-finite", "row 4, column 7"}},
		{"constant stimulus", []string{"--features", good, "--brain", write("const.npy", []int{20, 30}, constant), "--features-ids", ids, "--brain-ids", ids},
			[]string{"const.npy", `stimulus "g" (row 6)`, "same value for all 30 targets", "--distance euclidean"}},
		{"too few stimuli", []string{"--features", write("x2.npy", []int{2, 4}, random(8)), "--brain", write("y2.npy", []int{2, 3}, random(6))}, []string{"2 stimuli", "at least 3"}},
		{"ids of another count", []string{"--features", good, "--brain", brain, "--features-ids", ids, "--brain-ids", write2(t, dir, "b2.txt", "a\nb\n")}, []string{"b2.txt", "2 ids for the 20 rows"}},
		{"two matched stimuli", []string{"--features", good, "--brain", brain, "--features-ids", ids, "--brain-ids", write2(t, dir, "b20.txt", "a\nb\nu1\nu2\nu3\nu4\nu5\nu6\nu7\nu8\nu9\nu10\nu11\nu12\nu13\nu14\nu15\nu16\nu17\nu18\n")},
			[]string{"2 stimuli in common", "at least 3"}},
		{"unknown distance", []string{"--features", good, "--brain", brain, "--distance", "cosine"}, []string{"--distance", "cosine"}},
		{"unknown comparison", []string{"--features", good, "--brain", brain, "--compare", "kendall"}, []string{"--compare", "kendall"}},
		{"negative permutations", []string{"--features", good, "--brain", brain, "--permutations", "-3"}, []string{"--permutations -3"}},
		{"seed alone", []string{"--features", good, "--brain", brain, "--seed", "3"}, []string{"--seed", "--permutations"}},
		{"roi of other length", []string{"--features", good, "--brain", brain, "--roi", write("roi7.npy", []int{7}, make([]int64, 7))}, []string{"roi7.npy", "7 ROI labels", "30 targets"}},
		{"roi of one target", []string{"--features", good, "--brain", brain, "--roi", write("roi1.npy", []int{30}, oneTarget)}, []string{"ROI roi0 has 1 target"}},
		{"same name twice", []string{"--features", good, "--features", good, "--brain", brain}, []string{"two sets are named \"good\""}},
		{"ids without brain ids", []string{"--features", good, "--brain", brain, "--features-ids", ids}, []string{"--brain-ids"}},
		{"roi names alone", []string{"--features", good, "--brain", brain, "--roi-names", roi}, []string{"--roi-names without --roi"}},
		// rsa.csv's row over all targets is named "all": an ROI of that name could not be told from it
		{"roi named all", []string{"--features", good, "--brain", brain, "--roi", roi, "--roi-names", write2(t, dir, "all.txt", "V1\nall\nIT\n")},
			[]string{"all.txt", `ROI 1 is named "all"`, "rows over all targets"}},
		{"features 3-d", []string{"--features", write("x3d.npy", []int{20, 2, 2}, random(80)), "--brain", brain}, []string{"x3d.npy", "2-d"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(c.name, " ", "-"))
			_, stderr, code := runCLI(t, append([]string{"rsa", "--out", out}, c.args...)...)
			if code == 0 {
				t.Fatalf("exit 0 for bad input; stderr %q", stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			line := lines[len(lines)-1] // warnings of ids left out may come first
			for _, w := range c.want {
				if !strings.Contains(line, w) {
					t.Errorf("error %q lacks %q", line, w)
				}
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("output directory left behind after a failure")
			}
		})
	}
}

// TestRSADebiasedUndefined: with 3 images, or brain data that vary at one image only, debiased CKA
// is null (and empty in rsa.csv), said on stderr, while RSA and biased CKA are written.
func TestRSADebiasedUndefined(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(43, 44))
	random := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = r.NormFloat64()
		}
		return v
	}
	write := func(name string, shape []int, v []float64) string {
		p := filepath.Join(dir, name)
		must(t, array.WriteNPY(p, shape, v))
		return p
	}
	apart := make([]float64, 10*4) // every image 0 but image 2: Euclidean RDM and biased CKA exist
	for j := range 4 {
		apart[2*4+j] = float64(j + 1)
	}
	for _, c := range []struct {
		name        string
		x, y        string
		stderr, csv string
	}{
		{"three images", write("x3.npy", []int{3, 5}, random(15)), write("y3.npy", []int{3, 4}, random(12)),
			"debiased CKA needs at least 4", "x3,all,4,"},
		{"one image apart", write("x10.npy", []int{10, 5}, random(50)), write("apart.npy", []int{10, 4}, apart),
			"features x10 against brain all: debiased CKA: the second data: the data vary at too few stimuli", "x10,all,4,"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(c.name, " ", "-"))
			_, stderr, code := runCLI(t, "rsa", "-x", c.x, "-y", c.y, "--distance", "euclidean", "-o", out)
			if code != 0 {
				t.Fatal(stderr)
			}
			if !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr %q lacks %q", stderr, c.stderr)
			}
			res := readRSADoc(t, out).Results[0]
			if res.CKADebiased != nil || math.IsNaN(res.CKA) || math.IsNaN(res.RSA) {
				t.Errorf("rsa %v, cka %v, debiased %v; want debiased null, the others numbers", res.RSA, res.CKA, res.CKADebiased)
			}
			csv, err := os.ReadFile(filepath.Join(out, "rsa.csv"))
			must(t, err)
			lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[1], c.csv) || !strings.HasSuffix(lines[1], ",") {
				t.Errorf("rsa.csv:\n%s", csv)
			}
		})
	}
}

func write2(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRSAOneProductForEuclideanAndCKA: with CKA the Euclidean RDM is made from the Gram matrix
// it computes anyway (the scores are those of the RDM computed on its own), and the side then
// keeps the Gram triangle alone, not its data (an ROI's copy of its columns).
func TestRSAOneProductForEuclideanAndCKA(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	v := make([]float64, 40*9)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	m := engine.NewMatrix64(40, 9, v)
	side, err := computeSide(context.Background(), m, "x", rsa.Euclidean, true, func(err error) error { return err })
	if err != nil {
		t.Fatal(err)
	}
	alone, err := rsa.NewRDM(context.Background(), m, rsa.Euclidean)
	if err != nil {
		t.Fatal(err)
	}
	for k := range alone.Values {
		if alone.Values[k] != side.rdm.Values[k] {
			t.Fatalf("pair %d: %v, alone %v", k, side.rdm.Values[k], alone.Values[k])
		}
	}
	if _, err := side.gram.Euclidean(context.Background()); err == nil {
		t.Error("the side's Gram matrix still holds its data")
	}
}

// TestRSAStaleRDMs: a run into the folder of an earlier one leaves none of its RDMs (named after
// other feature sets, of other stimuli perhaps) beside the new results.
func TestRSAStaleRDMs(t *testing.T) {
	dir := t.TempDir()
	good, _, brain, _, _ := writeRSAStudy(t, dir, 30)
	out := filepath.Join(dir, "out")
	if _, stderr, code := runCLI(t, "rsa", "-x", "m="+good, "-y", brain, "--save-rdms", "-o", out); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := runCLI(t, "rsa", "-x", "other="+good, "-y", brain, "-o", out); code != 0 {
		t.Fatal(stderr)
	}
	entries, err := os.ReadDir(out)
	must(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "rsa.csv,rsa.json" {
		t.Errorf("the folder holds %v after a run without --save-rdms, want rsa.csv and rsa.json", names)
	}
}

// rsa.json's rdm_files says whose RDM each file holds: names made safe for files can meet
// ("l 6" and "l_6" are both rdm_features_l_6), and the file name then does not tell them apart.
func TestRSARDMFilesNamed(t *testing.T) {
	dir := t.TempDir()
	good, bad, brain, roi, names := writeRSAStudy(t, dir, 12)
	out := filepath.Join(dir, "res")
	mustRun(t, "rsa", "--features", "l 6="+good, "--features", "l_6="+bad, "--brain", brain, "--roi", roi, "--roi-names", names,
		"--no-cka", "--save-rdms", "--out", out)
	var doc struct {
		Files map[string]struct{ Side, Name string } `json:"rdm_files"`
	}
	b, err := os.ReadFile(filepath.Join(out, "rsa.json"))
	must(t, err)
	must(t, json.Unmarshal(b, &doc))
	want := map[string][2]string{"rdm_features_l_6.npy": {"features", "l 6"}, "rdm_features_l_6_2.npy": {"features", "l_6"},
		"rdm_brain_all.npy": {"brain", "all"}, "rdm_brain_V1.npy": {"brain", "V1"}, "rdm_brain_V4.npy": {"brain", "V4"}, "rdm_brain_IT.npy": {"brain", "IT"}}
	if len(doc.Files) != len(want) {
		t.Errorf("rdm_files: %v, want %v", doc.Files, want)
	}
	for f, w := range want {
		if got := doc.Files[f]; got.Side != w[0] || got.Name != w[1] {
			t.Errorf("rdm_files[%s] = %+v, want %v", f, got, w)
		}
	}
	// the file rdm_files names for each set holds 1 - Pearson r of that set's first two images
	for path, file := range map[string]string{good: "rdm_features_l_6.npy", bad: "rdm_features_l_6_2.npy"} {
		x := readNPY(t, path)
		v := x.F64
		for _, f := range x.F32 { // good.npy is float32
			v = append(v, float64(f))
		}
		d := x.Shape[1]
		r := pearson(v[:d], v[d:2*d])
		if got := readNPY(t, filepath.Join(out, file)).F64[0]; math.Abs(got-(1-r)) > 1e-12 {
			t.Errorf("%s: first distance %v, want 1 - r = %v", file, got, 1-r)
		}
	}
}

func pearson(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma, mb = ma+a[i], mb+b[i]
	}
	ma, mb = ma/float64(len(a)), mb/float64(len(b))
	var sab, saa, sbb float64
	for i := range a {
		sab += (a[i] - ma) * (b[i] - mb)
		saa += (a[i] - ma) * (a[i] - ma)
		sbb += (b[i] - mb) * (b[i] - mb)
	}
	return sab / math.Sqrt(saa*sbb)
}
