package main

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
)

// writeUniversalStudy writes two models over n images whose first and third principal
// components are latents shared with each other and with the brain data, the second and fourth
// private, and the brain data (20 targets of the shared latents plus noise).
func writeUniversalStudy(t *testing.T, dir string, n int) (a, b, y string) {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 5))
	shared := make([]float64, 2*n)
	for i := range shared {
		shared[i] = r.NormFloat64() * []float64{5, 2}[i%2]
	}
	const d = 8
	var paths []string
	for k := 0; k < 2; k++ {
		x := make([]float32, n*d)
		for i := 0; i < n; i++ {
			lat := []float64{shared[2*i], 3.5 * r.NormFloat64(), shared[2*i+1], 1.2 * r.NormFloat64()}
			for j := 0; j < d; j++ {
				v := 0.05 * r.NormFloat64()
				if j < 4 {
					v += lat[(j+k)%4] // each model stores the latents in other columns
				}
				x[i*d+j] = float32(v)
			}
		}
		p := filepath.Join(dir, []string{"vit.npy", "convnet.npy"}[k])
		if err := array.WriteNPY(p, []int{n, d}, x); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	const m = 20
	yv := make([]float64, n*m)
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			yv[i*m+j] = math.Sin(float64(j))*shared[2*i] + math.Cos(float64(j))*shared[2*i+1] + r.NormFloat64()
		}
	}
	y = filepath.Join(dir, "brain.npy")
	if err := array.WriteNPY(y, []int{n, m}, yv); err != nil {
		t.Fatal(err)
	}
	return paths[0], paths[1], y
}

func TestUniversalCommand(t *testing.T) {
	dir := t.TempDir()
	a, b, y := writeUniversalStudy(t, dir, 150)
	out := filepath.Join(dir, "res")
	stdout := mustRun(t, "universal", "--features", a, "--features", "cnn="+b, "--brain", y, "--dims", "4", "--top", "2", "--out", out)
	for _, want := range []string{"universal dimensions of 2 models; engine ", "vit: 4 dimensions", "cnn: 4 dimensions", "most universal: [0 2]", "pooled over 8 dimensions"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	doc := readJSON(t, filepath.Join(out, "universal.json"))
	if r := num(t, doc, "result", "pooled", "r"); !(r > 0.95) {
		t.Errorf("pooled r %v", r)
	}
	models := get(t, doc, "result", "models").([]any)
	for _, m := range models {
		mm := m.(map[string]any)
		if kept := num(t, mm, "reduction", "kept"); !(kept > 0.95) {
			t.Errorf("%s: %v of the brain score kept by the 2 most universal dimensions", mm["name"], kept)
		}
	}
	if get(t, doc, "options", "folds") == nil || get(t, doc, "host", "cores") == nil {
		t.Error("universal.json lacks the options or the host")
	}
	csv := string(mustRead(t, filepath.Join(out, "universal.csv")))
	if lines := strings.Split(strings.TrimSpace(csv), "\n"); len(lines) != 9 || lines[0] != "model,dimension,variance,universality,brain_similarity,universal_rank" ||
		!strings.HasPrefix(lines[1], "vit,0,") || !strings.HasPrefix(lines[5], "cnn,0,") {
		t.Errorf("universal.csv:\n%s", csv)
	}
	checkPNGFile(t, filepath.Join(out, "universal.png"))

	// --dims below 10 without --top: the reduction keeps them all (--top's default is 10 or
	// --dims if fewer), where it was a usage error
	out = filepath.Join(dir, "dims4")
	mustRun(t, "universal", "--features", a, "--features", "cnn="+b, "--brain", y, "--dims", "4", "--out", out, "--no-figures")
	if top := num(t, readJSON(t, filepath.Join(out, "universal.json")), "top"); top != 4 {
		t.Errorf("--dims 4 without --top: top %v, want 4", top)
	}
}

func TestUniversalCommandErrors(t *testing.T) {
	dir := t.TempDir()
	a, b, y := writeUniversalStudy(t, dir, 60)
	out := filepath.Join(dir, "out")
	wantError(t, 2, "--features: 1 model(s)", "universal", "--features", a, "--brain", y, "--out", out)
	wantError(t, 2, "--dims 3, --top 4", "universal", "--features", a, "--features", b, "--brain", y, "--dims", "3", "--top", "4", "--out", out)
	wantError(t, 2, `two models are named "vit"`, "universal", "--features", a, "--features", "vit="+b, "--brain", y, "--out", out)
	wantError(t, 2, `--features "=x.npy": want [NAME=]PATH`, "universal", "--features", a, "--features", "=x.npy", "--brain", y, "--out", out)
	short := filepath.Join(dir, "short.npy")
	if err := array.WriteNPY(short, []int{50, 3}, make([]float64, 150)); err != nil {
		t.Fatal(err)
	}
	wantError(t, 1, "short: 50 rows, but the brain data has 60", "universal", "--features", a, "--features", short, "--brain", y, "--out", out)
	wantError(t, 1, "no such file", "universal", "--features", a, "--features", filepath.Join(dir, "none.npy"), "--brain", y, "--out", out)
	wantError(t, 1, "fewer than --top 10", "universal", "--features", a, "--features", b, "--brain", y, "--out", out) // 8 columns: 8 dimensions at most
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed run left %s", out)
	}
}

// TestUniversalBundleArrays chooses each model's array of an .npz with PATH:ARRAY: the results
// are those of the same arrays given as .npy files.
func TestUniversalBundleArrays(t *testing.T) {
	dir := t.TempDir()
	a, b, y := writeUniversalStudy(t, dir, 80)
	read := func(p string) *array.Array {
		r, err := array.ReadNPY(p)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		return &array.Array{Shape: r.Shape, F32: append([]float32(nil), r.F32...)}
	}
	xa, xb := read(a), read(b)
	bundle := filepath.Join(dir, "acts.npz")
	writeBundle(t, bundle, map[string]*array.Array{"vit.blocks.11": xa, "cnn.layer4": xb}, nil)
	colon := filepath.Join(dir, "odd:name.npy") // exists as given: not split at the colon
	if err := os.Link(b, colon); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	mustRun(t, "universal", "--features", a, "--features", "cnn="+b, "--brain", y, "--dims", "4", "--top", "2", "--no-figures", "--out", plain)
	bundled := filepath.Join(dir, "bundled")
	stdout := mustRun(t, "universal", "--features", bundle+":vit.blocks.11", "--features", "cnn="+colon, "--brain", y,
		"--dims", "4", "--top", "2", "--no-figures", "--out", bundled)
	if !strings.Contains(stdout, "acts:vit.blocks.11: 4 dimensions") {
		t.Errorf("stdout: %s", stdout)
	}
	want := strings.ReplaceAll(string(mustRead(t, filepath.Join(plain, "universal.csv"))), "vit,", "acts:vit.blocks.11,")
	if got := string(mustRead(t, filepath.Join(bundled, "universal.csv"))); got != want {
		t.Errorf("from the bundle:\n%s\nfrom .npy files:\n%s", got, want)
	}
	doc := readJSON(t, filepath.Join(bundled, "universal.json"))
	if f := get(t, doc, "inputs", "features").([]any)[0].(map[string]any); f["path"] != bundle || f["array"] != "vit.blocks.11" {
		t.Errorf("universal.json features: %v", f)
	}
	out := filepath.Join(dir, "out")
	wantError(t, 1, `acts.npz: no array named "layer9" (have `, "universal", "--features", bundle+":layer9", "--features", b, "--brain", y, "--out", out)
	wantError(t, 2, `empty array name after ':'`, "universal", "--features", bundle+":", "--features", b, "--brain", y, "--out", out)
}

func TestUniversalBundleNeedsArray(t *testing.T) {
	dir := t.TempDir()
	a, b, y := writeUniversalStudy(t, dir, 60)
	r, err := array.ReadNPY(a)
	if err != nil {
		t.Fatal(err)
	}
	x := &array.Array{Shape: r.Shape, F32: append([]float32(nil), r.F32...)}
	r.Close()
	bundle := filepath.Join(dir, "acts.npz")
	writeBundle(t, bundle, map[string]*array.Array{"a": x, "b": x}, nil)
	wantError(t, 1, "acts.npz: holds 2 arrays (", "universal", "--features", bundle, "--features", b, "--brain", y, "--out", filepath.Join(dir, "out"))
	wantError(t, 1, "); name one with PATH:ARRAY (or --layer)", "universal", "--features", bundle, "--features", b, "--brain", y, "--out", filepath.Join(dir, "out"))
}

// TestUniversalStimulusIDs matches rows by id (one model's rows reversed with an extra image,
// another missing an image): the results are those of the shared images given in the brain
// data's order without ids.
func TestUniversalStimulusIDs(t *testing.T) {
	dir := t.TempDir()
	const n = 80
	a, b, y := writeUniversalStudy(t, dir, n)
	rows := func(p string) (shape []int, f32 []float32, f64 []float64) {
		r, err := array.ReadNPY(p)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		return r.Shape, append([]float32(nil), r.F32...), append([]float64(nil), r.F64...)
	}
	sa, xa, _ := rows(a)
	_, xb, _ := rows(b)
	sy, _, yv := rows(y)
	d, m := sa[1], sy[1]
	id := func(i int) string { return "img-" + strconv.Itoa(i) }
	write := func(name string, shape []int, data any, ids []string) (string, string) {
		p := filepath.Join(dir, name+".npy")
		if err := array.WriteNPY(p, shape, data); err != nil {
			t.Fatal(err)
		}
		return p, writeText(t, dir, name+".txt", strings.Join(ids, "\n")+"\n")
	}
	// With ids: a reversed plus a foreign image, b without image 5, the brain data as is.
	var ra []float32
	var raIDs, rbIDs, yIDs []string
	for i := n - 1; i >= 0; i-- {
		ra, raIDs = append(ra, xa[i*d:(i+1)*d]...), append(raIDs, id(i))
	}
	ra, raIDs = append(ra, xa[:d]...), append(raIDs, "foreign")
	rb := append(append([]float32(nil), xb[:5*d]...), xb[6*d:]...)
	for i := range n {
		yIDs = append(yIDs, id(i))
		if i != 5 {
			rbIDs = append(rbIDs, id(i))
		}
	}
	pa, ia := write("ra", []int{n + 1, d}, ra, raIDs)
	pb, ib := write("rb", []int{n - 1, d}, rb, rbIDs)
	iy := writeText(t, dir, "brain_ids.txt", strings.Join(yIDs, "\n")+"\n")
	// Without ids: the 79 shared images in the brain data's order.
	keep := func(v any, w int) any {
		switch v := v.(type) {
		case []float32:
			return append(append([]float32(nil), v[:5*w]...), v[6*w:]...)
		default:
			f := v.([]float64)
			return append(append([]float64(nil), f[:5*w]...), f[6*w:]...)
		}
	}
	ea, _ := write("vit", []int{n - 1, d}, keep(xa, d), nil)
	eb, _ := write("cnn", []int{n - 1, d}, keep(xb, d), nil)
	ey, _ := write("y", []int{n - 1, m}, keep(yv, m), nil)

	plain := filepath.Join(dir, "plain")
	mustRun(t, "universal", "--features", "vit="+ea, "--features", "cnn="+eb, "--brain", ey, "--dims", "4", "--top", "2", "--no-figures", "--out", plain)
	matched := filepath.Join(dir, "matched")
	_, stderr, code := runCLI(t, "universal", "--features", "vit="+pa, "--features", "cnn="+pb, "--features-ids", ia, "--features-ids", ib,
		"--brain", y, "--brain-ids", iy, "--dims", "4", "--top", "2", "--no-figures", "--out", matched)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"1 stimulus ids only in the features of model vit were left out: foreign", "1 stimulus ids only in the brain data (or not in every model) were left out: img-5"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if got, want := string(mustRead(t, filepath.Join(matched, "universal.csv"))), string(mustRead(t, filepath.Join(plain, "universal.csv"))); got != want {
		t.Errorf("matched by id:\n%s\nwithout ids, the shared images:\n%s", got, want)
	}
	if r := num(t, readJSON(t, filepath.Join(matched, "universal.json")), "inputs", "rows"); r != n-1 {
		t.Errorf("universal.json: %v rows", r)
	}
	// --groups labels the brain file's rows (before id matching), as for encode: 80 labels with
	// ids give the folds of the 79 shared images' labels without
	groups := make([]int64, n)
	for i := range groups {
		groups[i] = int64(i % 8)
	}
	gAll := filepath.Join(dir, "groups80.npy")
	must(t, array.WriteNPY(gAll, []int{n}, groups))
	gKept := filepath.Join(dir, "groups79.npy")
	must(t, array.WriteNPY(gKept, []int{n - 1}, append(append([]int64(nil), groups[:5]...), groups[6:]...)))
	plainG, matchedG := filepath.Join(dir, "plain-groups"), filepath.Join(dir, "matched-groups")
	mustRun(t, "universal", "--features", "vit="+ea, "--features", "cnn="+eb, "--brain", ey, "--groups", gKept, "--dims", "4", "--top", "2", "--no-figures", "--out", plainG)
	mustRun(t, "universal", "--features", "vit="+pa, "--features", "cnn="+pb, "--features-ids", ia, "--features-ids", ib,
		"--brain", y, "--brain-ids", iy, "--groups", gAll, "--dims", "4", "--top", "2", "--no-figures", "--out", matchedG)
	if got, want := string(mustRead(t, filepath.Join(matchedG, "universal.csv"))), string(mustRead(t, filepath.Join(plainG, "universal.csv"))); got != want || got == string(mustRead(t, filepath.Join(plain, "universal.csv"))) {
		t.Errorf("--groups with ids:\n%s\nwithout ids:\n%s", got, want)
	}

	out := filepath.Join(dir, "out")
	wantError(t, 2, "--features-ids 1 times for 2 --features", "universal", "--features", pa, "--features", pb, "--features-ids", ia, "--brain", y, "--brain-ids", iy, "--out", out)
	wantError(t, 2, "give --brain-ids and one --features-ids per model", "universal", "--features", pa, "--features", pb, "--features-ids", ia, "--features-ids", ib, "--brain", y, "--out", out)
	wantError(t, 1, "ra.txt: 81 ids for the 79 rows of model rb", "universal", "--features", pb, "--features", "x="+pa, "--features-ids", ia, "--features-ids", ib,
		"--brain", y, "--brain-ids", iy, "--out", out)
	var zs []string
	for i := range n - 1 {
		zs = append(zs, "z"+strconv.Itoa(i))
	}
	other := writeText(t, dir, "other.txt", strings.Join(zs, "\n"))
	wantError(t, 1, "no stimulus id of "+iy+" appears in every model's --features-ids", "universal", "--features", pa, "--features", pb,
		"--features-ids", ia, "--features-ids", other, "--brain", y, "--brain-ids", iy, "--out", out)
}

// Brain data split across two files of the same rows (hemispheres) give what the whole file
// gives.
func TestUniversalJoinedBrain(t *testing.T) {
	dir := t.TempDir()
	a, b, y := writeUniversalStudy(t, dir, 150)
	whole := readNPY(t, y)
	n, m := whole.Shape[0], whole.Shape[1]
	var halves []string
	for k, c := range [][2]int{{0, 12}, {12, m}} {
		v := make([]float64, 0, n*(c[1]-c[0]))
		for i := range n {
			v = append(v, whole.F64[i*m+c[0]:i*m+c[1]]...)
		}
		p := filepath.Join(dir, []string{"lh.brain.npy", "rh.brain.npy"}[k])
		must(t, array.WriteNPY(p, []int{n, c[1] - c[0]}, v))
		halves = append(halves, p)
	}
	args := []string{"universal", "--features", a, "--features", b, "--dims", "4", "--top", "2", "--precision", "float64", "--no-figures"}
	mustRun(t, append(args, "--brain", y, "--out", filepath.Join(dir, "whole"))...)
	mustRun(t, append(args, "--brain", halves[0], "--brain", halves[1], "--out", filepath.Join(dir, "joined"))...)
	if w, j := string(mustRead(t, filepath.Join(dir, "whole", "universal.csv"))), string(mustRead(t, filepath.Join(dir, "joined", "universal.csv"))); w != j {
		t.Errorf("universal.csv of the joined halves:\n%s\nof the whole file:\n%s", j, w)
	}
}
