package main

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
)

// annotExpected reads testdata/annot's expected.json (gen_annot.py): the folder, NiBabel's labels
// of lh.annot's vertices then rh.annot's (as --roi lh.annot --roi rh.annot joins them), and
// NumPy's Euclidean RDM of brain.npy over each ROI's vertices.
func annotExpected(t *testing.T) (dir string, labels []int, rdms map[string][]float64) {
	t.Helper()
	dir = filepath.Join("..", "..", "testdata", "annot")
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	must(t, err)
	var want struct {
		LH   struct{ Labels []int } `json:"lh.annot"`
		RH   struct{ Labels []int } `json:"rh.annot"`
		RDMs map[string][]float64   `json:"rdms"`
	}
	must(t, json.Unmarshal(b, &want))
	return dir, append(append([]int(nil), want.LH.Labels...), want.RH.Labels...), want.RDMs
}

// rsa --roi lh.annot --roi rh.annot over brain data of both hemispheres' vertices: one RDM per
// entry the vertices carry, named by the annotations' colour table ("unknown" too), each NumPy's
// Euclidean RDM over the vertices NiBabel labels so (gen_annot.py), the vertices of no entry
// in none; rsa.csv counts each ROI's targets.
func TestRSAROIFromAnnot(t *testing.T) {
	dir, labels, rdms := annotExpected(t)
	out := filepath.Join(t.TempDir(), "rsa")
	mustRun(t, "rsa", "--features", "m="+filepath.Join(dir, "features.npy"), "--brain", filepath.Join(dir, "brain.npy"),
		"--roi", filepath.Join(dir, "lh.annot"), "--roi", filepath.Join(dir, "rh.annot"),
		"--distance", "euclidean", "--no-cka", "--save-rdms", "--out", out)
	targets := map[string]int{}
	for k, name := range []string{"unknown", "V1", "V2", "MT"} {
		for _, l := range labels {
			if l == k {
				targets[name]++
			}
		}
		rdm := readNPY(t, filepath.Join(out, "rdm_brain_"+name+".npy"))
		w := rdms[name]
		if len(w) != 15 || len(rdm.F64) != len(w) {
			t.Fatalf("%s: RDM of %d distances, want NumPy's %d", name, len(rdm.F64), len(w))
		}
		for i := range w {
			if math.Abs(rdm.F64[i]-w[i]) > 1e-12*max(1, w[i]) {
				t.Errorf("%s: distance %d is %v, want NumPy's %v", name, i, rdm.F64[i], w[i])
			}
		}
	}
	csv := readFile(t, filepath.Join(out, "rsa.csv"))
	for name, n := range targets {
		if !strings.Contains(csv, "\nm,"+name+","+strconv.Itoa(n)+",") {
			t.Errorf("rsa.csv lacks ROI %s of %d targets:\n%s", name, n, csv)
		}
	}
	if targets["V2"] == 0 || targets["unknown"] == 0 || strings.Count(csv, "\n") != 6 { // header, all, 4 ROIs
		t.Errorf("rsa.csv (ROIs %v):\n%s", targets, csv)
	}
}

// sweep --roi lh.annot --roi rh.annot: table.csv's roi_<name> columns, one per colour table
// entry the vertices carry, are each the mean of scores.npy over the vertices NiBabel labels so
// (gen_annot.py), and meta/roi_names.txt names them.
func TestSweepROIFromAnnot(t *testing.T) {
	dir, labels, _ := annotExpected(t)
	tmp := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	const n, d, targets = 40, 4, 80
	x, noise := make([]float32, n*d), make([]float32, n*d)
	for i := range x {
		x[i], noise[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	y := make([]float64, n*targets)
	for i := range n {
		for j := range targets { // each vertex its own mix of the features, and noise
			y[i*targets+j] = float64(x[i*d+j%d])*float64(1+j%5) + rng.NormFloat64()
		}
	}
	model := filepath.Join(tmp, "model", "ckpt-000001")
	must(t, os.MkdirAll(model, 0o755))
	must(t, array.WriteNPY(filepath.Join(model, "layer01.npy"), []int{n, d}, x))
	must(t, array.WriteNPY(filepath.Join(model, "layer02.npy"), []int{n, d}, noise))
	brain := filepath.Join(tmp, "brain.npy")
	must(t, array.WriteNPY(brain, []int{n, targets}, y))
	out := filepath.Join(tmp, "sweep")
	mustRun(t, "sweep", "--features", filepath.Join(tmp, "model"), "--model", "m", "--brain", brain,
		"--roi", filepath.Join(dir, "lh.annot"), "--roi", filepath.Join(dir, "rh.annot"), "--out", out)
	scores := readNPY(t, filepath.Join(out, "scores.npy")) // checkpoints x layers x targets
	rows := strings.Split(strings.TrimSpace(readFile(t, filepath.Join(out, "table.csv"))), "\n")
	head := strings.Split(rows[0], ",")
	col := map[string]int{}
	for k, h := range head {
		col[h] = k
	}
	for layer, row := range rows[1:] {
		cells := strings.Split(row, ",")
		for k, name := range []string{"unknown", "V1", "V2", "MT"} {
			c, ok := col["roi_"+name]
			if !ok {
				t.Fatalf("table.csv has no roi_%s column: %s", name, rows[0])
			}
			var sum float64
			var count int
			for j, l := range labels {
				if l == k {
					sum += scores.F64[layer*targets+j]
					count++
				}
			}
			got, err := strconv.ParseFloat(cells[c], 64)
			must(t, err)
			if w := sum / float64(count); math.Abs(got-w) > 1e-9 {
				t.Errorf("layer %d: roi_%s %v, want the mean %v of its %d vertices' scores", layer, name, got, w, count)
			}
		}
	}
	if names := readFile(t, filepath.Join(out, "meta", "roi_names.txt")); names != "0\tunknown\n1\tV1\n2\tV2\n3\tMT\n" {
		t.Errorf("roi_names.txt: %q", names)
	}
	// one hemisphere's annotation for both hemispheres' targets: refused, saying so
	lh := filepath.Join(dir, "lh.annot")
	if _, stderr, code := runCLI(t, "sweep", "--features", filepath.Join(tmp, "model"), "--model", "m", "--brain", brain, "--roi", lh,
		"--out", filepath.Join(tmp, "one")); code == 0 || !strings.Contains(stderr, lh+": 40 ROI labels for the 80 targets of "+brain) {
		t.Errorf("40 labels for 80 targets: exit %d, %s", code, stderr)
	}
}
