package sweep_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/sweep"
)

// table.csv's values, against values worked by hand: the median of an even and of an odd number
// of targets, the maximum, ROI means (a target of no ROI in none), and the ceiled means (the
// targets with a ceiling: their scores' sum over their ceilings' sum; NaN where those are 0).
func TestWriteTableValues(t *testing.T) {
	step := 2.5
	m := &sweep.Manifest{Model: "vit", Subject: "sub-01", Targets: 4, Layers: []string{"a", "b", "c"},
		Checkpoints: []sweep.CheckpointInfo{{Name: "c0", Step: &step}, {Name: "c1"}}}
	meta := sweep.Meta{ROI: []int{0, 0, 2, -1}, ROINames: map[int]string{0: "V1", 2: "IT"}, Ceiling: []float64{0.5, math.NaN(), 0.25, 1}}
	// Row (c, l) is 0.8, 0.1, 0.3, 0.2 plus d = 0.01 (3c + l).
	var scores []float64
	for r := range 6 {
		d := 0.01 * float64(r)
		scores = append(scores, 0.8+d, 0.1+d, 0.3+d, 0.2+d)
	}
	var b bytes.Buffer
	if err := sweep.WriteTable(&b, m, meta, scores); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := append(append([]string(nil), sweep.TableColumns...), "roi_V1", "roi_IT", "ceiled_mean_score", "ceiled_roi_V1", "ceiled_roi_IT")
	if strings.Join(recs[0], ",") != strings.Join(head, ",") || len(recs) != 7 {
		t.Fatalf("header %v and %d rows, want %v and 6", recs[0], len(recs)-1, head)
	}
	for r, rec := range recs[1:] {
		c, l := r/3, r%3
		d := 0.01 * float64(r)
		wantStep := []string{"2.5", ""}[c]
		if rec[0] != "vit" || rec[1] != "sub-01" || rec[2] != m.Checkpoints[c].Name || rec[3] != wantStep || rec[4] != m.Layers[l] ||
			rec[5] != strconv.Itoa(l) || rec[6] != []string{"0", "0.5", "1"}[l] || rec[10] != "4" || len(rec) != len(head) {
			t.Errorf("row %d: %v", r, rec)
		}
		// mean 1.4/4, median (0.2 + 0.3)/2, max 0.8; V1 (0.8 + 0.1)/2, IT 0.3; ceiled: targets 0,
		// 2, 3: (1.3 + 3d)/1.75, V1 target 0: (0.8 + d)/0.5, IT (0.3 + d)/0.25.
		want := []float64{0.35 + d, 0.25 + d, 0.8 + d, 0, 0, 0.45 + d, 0.3 + d, (1.3 + 3*d) / 1.75, (0.8 + d) / 0.5, (0.3 + d) / 0.25}
		for k, col := range []int{7, 8, 9, 11, 12, 13, 14, 15} {
			w := want[[]int{0, 1, 2, 5, 6, 7, 8, 9}[k]]
			got, err := strconv.ParseFloat(rec[col], 64)
			if err != nil || !(math.Abs(got-w) <= 1e-9) {
				t.Errorf("row %d, %s: %q, want %v", r, recs[0][col], rec[col], w)
			}
		}
	}
	// Values with 10 significant digits: 1.3/1.75 = 0.742857142857...
	if got := recs[1][13]; got != "0.7428571429" {
		t.Errorf("ceiled mean %q, want 0.7428571429 (10 digits)", got)
	}
	// 3 targets: the middle one; ceilings of 0 (V1) and none (IT): NaN.
	m.Targets, m.Checkpoints, m.Layers = 3, m.Checkpoints[:1], m.Layers[:2]
	meta = sweep.Meta{ROI: []int{1, 2, 2}, ROINames: map[int]string{1: "V1", 2: "IT"}, Ceiling: []float64{0, 0, math.NaN()}}
	b.Reset()
	if err := sweep.WriteTable(&b, m, meta, []float64{0.3, 0.9, 0.1, 0.3, 0.9, 0.1}); err != nil {
		t.Fatal(err)
	}
	recs, err = csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if r := recs[1]; r[8] != "0.3" || r[9] != "0.9" || r[11] != "0.3" || r[12] != "0.5" || r[13] != "NaN" || r[14] != "NaN" || r[15] != "NaN" {
		t.Errorf("3 targets, ceilings 0: %v", r)
	}
	// 5 targets of one ROI: the median is the third; the ROI's mean its column.
	m.Targets, m.Layers = 5, m.Layers[:2]
	meta = sweep.Meta{ROI: []int{4, 4, 4, 4, -1}, ROINames: map[int]string{4: "MT"}}
	b.Reset()
	if err := sweep.WriteTable(&b, m, meta, []float64{0.3, 0.9, 0.1, 0.5, 0.7, 0.3, 0.9, 0.1, 0.5, 0.7}); err != nil {
		t.Fatal(err)
	}
	recs, err = csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if h, r := recs[0], recs[1]; len(h) != len(sweep.TableColumns)+1 || h[len(h)-1] != "roi_MT" || r[8] != "0.5" || r[len(r)-1] != "0.45" {
		t.Errorf("5 targets, one ROI: %v %v", h, r)
	}
}

// Load reads only merged tables (merged.json there) and checks their values; OpenScores maps
// scores.npy unread and leaves the fold scores closed.
func TestLoadAndOpenScores(t *testing.T) {
	_, p, y, out := newSweep(t, []int{1, 2}, 2)
	if _, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil {
		t.Fatal(err)
	}
	s, err := sweep.OpenScores(out)
	if err != nil || s.FoldScores != nil || len(s.Scores) != s.C*s.L*s.M {
		t.Fatalf("OpenScores: %v, fold scores %v", err, s.FoldScores)
	}
	s.Close()
	s, err = sweep.Load(out)
	if err != nil || len(s.FoldScores) != s.C*s.L*s.F*s.M {
		t.Fatalf("Load: %v, %d fold scores", err, len(s.FoldScores))
	}
	s.Close()
	// The last score NaN: Load refuses it, OpenScores reads no values.
	sp := filepath.Join(out, "scores.npy")
	b, err := os.ReadFile(sp)
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint64(b[len(b)-8:], math.Float64bits(math.NaN()))
	if err := os.WriteFile(sp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sweep.Load(out); err == nil || !strings.Contains(err.Error(), "non-finite value NaN") {
		t.Errorf("Load of a NaN score: %v", err)
	}
	if s, err := sweep.OpenScores(out); err != nil {
		t.Errorf("OpenScores of a NaN score: %v", err)
	} else {
		s.Close()
	}
	if names, err := sweep.ROINames(out); err != nil || strings.Join(names, ",") != "V1,IT" {
		t.Errorf("ROI names %v, %v", names, err)
	}
	if _, err := sweep.ROINames(filepath.Join(out, "missing")); err == nil {
		t.Error("ROI names of no sweep")
	}
	if err := os.Remove(filepath.Join(out, "merged.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := sweep.OpenScores(out); !errors.Is(err, sweep.ErrNotMerged) {
		t.Errorf("without merged.json, every unit's record there: %v", err)
	}
}
