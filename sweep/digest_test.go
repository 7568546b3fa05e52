package sweep_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/sweep"
)

func TestDataDigest(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	// 700 x 3000 float64 is 16.8 MB: three CRC chunks, the last one partial.
	n, m := 700, 3000
	ys := make([]float64, n*m)
	for i := range ys {
		ys[i] = rng.NormFloat64()
	}
	y := engine.NewMatrix64(n, m, ys)
	opts, err := engine.Defaults(n)
	if err != nil {
		t.Fatal(err)
	}
	base, fp := sweep.DataDigest(y, nil), sweep.Fingerprint(y, opts)
	if again := sweep.DataDigest(engine.NewMatrix64(n, m, slices.Clone(ys)), nil); again != base {
		t.Fatalf("the same values give digests %s and %s", base, again)
	}
	changed := func(what string, f func(v []float64)) {
		t.Helper()
		v := slices.Clone(ys)
		f(v)
		if sweep.DataDigest(engine.NewMatrix64(n, m, v), nil) == base {
			t.Errorf("%s: digest unchanged", what)
		}
	}
	changed("one value in an unsampled row", func(v []float64) { v[3*m+7] *= 2 })
	changed("the last value", func(v []float64) { v[len(v)-1] += 1e-12 })
	changed("two rows swapped", func(v []float64) {
		a, b := v[100*m:101*m], v[101*m:102*m]
		tmp := slices.Clone(a)
		copy(a, b)
		copy(b, tmp)
	})
	// The sampled fingerprint misses a change in row 3, which is why the digest exists.
	v := slices.Clone(ys)
	v[3*m+7] *= 2
	if sweep.Fingerprint(engine.NewMatrix64(n, m, v), opts) != fp {
		t.Log("the fingerprint now sees row 3 too")
	}
	// The pairing with the activations' rows counts.
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	withRows := sweep.DataDigest(y, rows)
	rows[5], rows[6] = rows[6], rows[5]
	if withRows == base || sweep.DataDigest(y, rows) == withRows {
		t.Errorf("the activations' row pairing does not change the digest")
	}
	// Storage: the same values in float32 are other data (they score differently).
	y32 := make([]float32, len(ys))
	for i, x := range ys {
		y32[i] = float32(x)
	}
	if sweep.DataDigest(engine.NewMatrix32(n, m, y32), nil) == base {
		t.Errorf("float32 and float64 storage give the same digest")
	}
	// Only Rows x Cols values count (a matrix may view a longer slice).
	if sweep.DataDigest(engine.NewMatrix64(n-1, m, ys), nil) == base {
		t.Errorf("a matrix of one row fewer gives the same digest")
	}
}

// A rerun on brain data that differs anywhere, even in rows the fingerprint does not sample, is
// refused rather than reusing units scored on the old data; a sweep of an earlier version (no
// digest in sweep.json) is resumed as before and gets one.
func TestResumeRefusesChangedBrainValues(t *testing.T) {
	_, p, y, out := newSweep(t, []int{10}, 2)
	if _, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil {
		t.Fatal(err)
	}
	v := slices.Clone(y.F64)
	v[3*tm+1] *= 2 // row 3: not among the fingerprint's rows (0, n/2, n-1)
	y2 := engine.NewMatrix64(tn, tm, v)
	c2 := config(t, out, p, y2, nil)
	if c2.Fingerprint != config(t, out, p, y, nil).Fingerprint {
		t.Fatal("test premise: the fingerprint should miss a change in row 3")
	}
	_, err := sweep.Run(context.Background(), c2)
	if err == nil || !strings.Contains(err.Error(), "data digest") {
		t.Fatalf("rerun on changed brain data: %v, want a refusal naming the data digest", err)
	}

	// An earlier version's sweep.json has no digest: resumed, and the digest recorded.
	mpath := filepath.Join(out, "sweep.json")
	var man map[string]any
	b, _ := os.ReadFile(mpath)
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	delete(man, "data_digest")
	b, _ = json.Marshal(man)
	if err := os.WriteFile(mpath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := sweep.Run(context.Background(), config(t, out, p, y, nil))
	if err != nil || rep.Computed != 0 {
		t.Fatalf("resuming a sweep without a digest: %+v, %v", rep, err)
	}
	b, _ = os.ReadFile(mpath)
	if !strings.Contains(string(b), `"data_digest": "`+sweep.DataDigest(y, nil)+`"`) {
		t.Errorf("sweep.json after the rerun lacks the digest:\n%s", b)
	}
}

// Metadata given once stay with the sweep: a rerun without --coords/--roi keeps them (and
// sweep.json says so); a rerun with other values replaces them and says which.
func TestRerunKeepsMetadata(t *testing.T) {
	_, p, y, out := newSweep(t, []int{10}, 2)
	c := config(t, out, p, y, nil)
	c.Meta.Coords = make([]float64, 3*tm)
	for i := range c.Meta.Coords {
		c.Meta.Coords[i] = float64(i)
	}
	if _, err := sweep.Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	bare := config(t, out, p, y, nil)
	bare.Meta = sweep.Meta{}
	rep, err := sweep.Run(context.Background(), bare)
	if err != nil || len(rep.MetaReplaced) != 0 {
		t.Fatalf("rerun without metadata: %+v, %v", rep, err)
	}
	b, _ := os.ReadFile(filepath.Join(out, "sweep.json"))
	var man sweep.Manifest
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	if !man.Metadata.Coords || !man.Metadata.ROI {
		t.Errorf("sweep.json after a rerun without metadata: %+v, want coords and ROI labels kept", man.Metadata)
	}
	s, err := sweep.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Meta.Coords) != 3*tm || s.Meta.ROIName(1) != "IT" {
		t.Errorf("metadata after the rerun: coords %v, ROI 1 %q", s.Meta.Coords, s.Meta.ROIName(1))
	}
	other := config(t, out, p, y, nil)
	other.Meta.ROINames = map[int]string{0: "V1", 1: "LOC"}
	rep, err = sweep.Run(context.Background(), other)
	if err != nil || !slices.Equal(rep.MetaReplaced, []string{"ROI labels"}) {
		t.Fatalf("rerun with renamed ROIs: replaced %v, %v; want [ROI labels]", rep.MetaReplaced, err)
	}
	if s, _ := sweep.Load(out); s == nil || s.Meta.ROIName(1) != "LOC" {
		t.Errorf("the renamed ROI was not saved")
	}
}
