package main

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
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
