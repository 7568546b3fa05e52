package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rsa --roi lh.annot --roi rh.annot over brain data of both hemispheres' vertices: one RDM per
// entry the vertices carry, named by the annotations' colour table ("unknown" too), each NumPy's
// Euclidean RDM over the vertices NiBabel labels so (gen_annot.py), the vertices of no entry
// in none; rsa.csv counts each ROI's targets.
func TestRSAROIFromAnnot(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "annot")
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	must(t, err)
	var want struct {
		LH   struct{ Labels []int } `json:"lh.annot"`
		RH   struct{ Labels []int } `json:"rh.annot"`
		RDMs map[string][]float64   `json:"rdms"`
	}
	must(t, json.Unmarshal(b, &want))
	out := filepath.Join(t.TempDir(), "rsa")
	mustRun(t, "rsa", "--features", "m="+filepath.Join(dir, "features.npy"), "--brain", filepath.Join(dir, "brain.npy"),
		"--roi", filepath.Join(dir, "lh.annot"), "--roi", filepath.Join(dir, "rh.annot"),
		"--distance", "euclidean", "--no-cka", "--save-rdms", "--out", out)
	targets := map[string]int{}
	for k, name := range []string{"unknown", "V1", "V2", "MT"} {
		for _, l := range append(append([]int(nil), want.LH.Labels...), want.RH.Labels...) {
			if l == k {
				targets[name]++
			}
		}
		rdm := readNPY(t, filepath.Join(out, "rdm_brain_"+name+".npy"))
		w := want.RDMs[name]
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
