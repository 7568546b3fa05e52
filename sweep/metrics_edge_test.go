package sweep_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/sweep"
)

// A damaged fold score (NaN, say, from a merge of a unit damaged on disk) stops the significance
// mask with an error that names the sweep's fold_scores.npy and where in it the value is, as a
// damaged scores.npy does, rather than metrics' "scores value 2167 ([6 7])": an index into the
// replicates pooled over subjects, which no file holds.
func TestSignificanceMaskNamesDamagedFoldScore(t *testing.T) {
	g := []*sweep.Sweep{plantedSweep("sub-01", "vit", 0), plantedSweep("sub-02", "vit", 0.02)}
	for _, s := range g { // fold scores around the scores: 5 folds
		for c := range s.C {
			for l := range s.L {
				for f := range s.F {
					for t := range s.M {
						s.FoldScores = append(s.FoldScores, s.Scores[(c*s.L+l)*s.M+t]+0.01*float64(f-2))
					}
				}
			}
		}
	}
	if _, err := sweep.SignificanceMask(g, 1, sweep.MaskOptions{Replicates: "folds"}); err != nil {
		t.Fatalf("undamaged: %v", err)
	}
	// sub-02, checkpoint 1 (ckpt-1000), layer 2 (block2), fold 3, target 4
	s := g[1]
	s.FoldScores[((1*s.L+2)*s.F+3)*s.M+4] = math.NaN()
	_, err := sweep.SignificanceMask(g, 1, sweep.MaskOptions{Replicates: "folds"})
	want := "/sweeps/vit/sub-02/fold_scores.npy: non-finite value NaN at checkpoint ckpt-1000, layer block2, fold 3, target 4"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want an error containing %q", err, want)
	}
	// MEG's targets are channels x times: target 4 of 2 x 3 is channel 1, time 1
	for _, s := range g {
		s.Trailing = []int{2, 3}
	}
	_, err = sweep.SignificanceMask(g, 1, sweep.MaskOptions{Replicates: "folds"})
	if want := "fold 3, target [1 1]"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("MEG: got %v, want an error containing %q", err, want)
	}
}

// Half-times interpolate between checkpoints in the order of their steps and take the last as
// the end of training: a sweep.json whose steps repeat or go back (edited by hand, or joined from
// runs) is refused, naming the checkpoints, rather than every half-time coming out undefined
// with the command succeeding.
func TestHalfTimesRefuseStepsNotIncreasing(t *testing.T) {
	for _, tc := range []struct {
		steps [2]float64
		want  string
	}{
		{[2]float64{100, 100}, `checkpoint ckpt-1000 is at step 100, not after ckpt-100's 100`},
		{[2]float64{1000, 100}, `checkpoint ckpt-1000 is at step 100, not after ckpt-100's 1000`},
	} {
		g := []*sweep.Sweep{plantedSweep("sub-01", "vit", 0), plantedSweep("sub-02", "vit", 0.02)}
		for _, s := range g {
			a, b := tc.steps[0], tc.steps[1]
			s.Checkpoints[0].Step, s.Checkpoints[1].Step = &a, &b
		}
		_, err := sweep.HalfTimes(context.Background(), g, sweep.HalfTimeOptions{Mask: sweep.MaskOptions{Off: true}})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "/sweeps/vit/sub-01") {
			t.Errorf("steps %v: got %v, want an error naming the sweep and containing %q", tc.steps, err, tc.want)
		}
	}
	// increasing from step 0: accepted
	g := []*sweep.Sweep{plantedSweep("sub-01", "vit", 0), plantedSweep("sub-02", "vit", 0.02)}
	zero := 0.0
	for _, s := range g {
		s.Checkpoints[0].Step = &zero
	}
	if _, err := sweep.HalfTimes(context.Background(), g, sweep.HalfTimeOptions{Mask: sweep.MaskOptions{Off: true}}); err != nil {
		t.Errorf("steps 0, 1000: %v", err)
	}
}

// withFolds gives planted sweeps fold scores (5 folds around their scores) for the mask.
func withFolds(g ...*sweep.Sweep) []*sweep.Sweep {
	for _, s := range g {
		for c := range s.C {
			for l := range s.L {
				for f := range s.F {
					for t := range s.M {
						s.FoldScores = append(s.FoldScores, s.Scores[(c*s.L+l)*s.M+t]+0.001*float64(f-2))
					}
				}
			}
		}
	}
	return g
}

// Metadata that one subject's sweep has and another's lacks (a --coords, --times or --roi left
// out of one subject's sweep) is an error naming the sweep without it, whichever order the
// folders come in: half-times looked at the first sweep only, so with it first the spatial
// (temporal, ROI) half-times were silently left out, and with it second the command failed.
func TestHalfTimesMetadataOfSomeSubjects(t *testing.T) {
	coords := []float64{0, 0, 0, 1, 0, 0, 2, 0, 0, 30, 0, 0, 40, 0, 0, 50, 0, 0}
	for _, tc := range []struct {
		name string
		give func(s *sweep.Sweep)
		want string
	}{
		{"coords", func(s *sweep.Sweep) { s.Meta.Coords = coords }, "no target coordinates"},
		{"times", func(s *sweep.Sweep) { s.Meta.Times = []float64{0, 0.1, 0.2}; s.Trailing = []int{2, 3} }, "no MEG times"},
		{"roi", func(s *sweep.Sweep) {}, "has no ROI labels"},
	} {
		for _, first := range []bool{true, false} {
			without, with := plantedSweep("sub-01", "vit", 0), plantedSweep("sub-02", "vit", 0.02)
			for _, s := range []*sweep.Sweep{without, with} {
				if tc.name == "times" { // MEG: no ROIs, targets channels x times
					s.Meta.ROI, s.Meta.ROINames, s.Trailing = nil, nil, []int{2, 3}
				}
			}
			tc.give(with)
			if tc.name == "roi" {
				without.Meta.ROI, without.Meta.ROINames = nil, nil
			}
			g := withFolds(without, with)
			if !first {
				g = []*sweep.Sweep{with, without}
			}
			_, err := sweep.HalfTimes(context.Background(), g, sweep.HalfTimeOptions{Mask: sweep.MaskOptions{Off: true}})
			if err == nil || !strings.Contains(err.Error(), "/sweeps/vit/sub-01") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s of sub-02 only, sub-01 first %v: got %v, want an error naming sub-01 and containing %q", tc.name, first, err, tc.want)
			}
		}
	}
}

// Subjects pooled target by target take their ROIs from one sweep: sweeps whose ROI labels or
// names differ are refused, as other times or channels are, rather than the first folder's
// ROIs being used for all.
func TestCheckGroupROIs(t *testing.T) {
	g := func() []*sweep.Sweep {
		return []*sweep.Sweep{plantedSweep("sub-01", "vit", 0), plantedSweep("sub-02", "vit", 0.02)}
	}
	if err := sweep.CheckGroup(g()); err != nil {
		t.Fatalf("same ROIs: %v", err)
	}
	other := g()
	other[1].Meta.ROI = []int{1, 1, 2, 2, 2, 2}
	if err := sweep.CheckGroup(other); err == nil || !strings.Contains(err.Error(), "target 2 is in ROI V1 in /sweeps/vit/sub-01, in ROI IT in /sweeps/vit/sub-02") {
		t.Errorf("other labels: got %v", err)
	}
	renamed := g()
	renamed[1].Meta.ROINames = map[int]string{1: "V1", 2: "LOC"}
	if err := sweep.CheckGroup(renamed); err == nil || !strings.Contains(err.Error(), "ROI label 2 is IT in /sweeps/vit/sub-01, LOC in /sweeps/vit/sub-02") {
		t.Errorf("other names: got %v", err)
	}
	for _, first := range []bool{true, false} {
		none := g()
		none[1].Meta.ROI, none[1].Meta.ROINames = nil, nil
		if !first {
			none[0], none[1] = none[1], none[0]
		}
		if err := sweep.CheckGroup(none); err == nil || !strings.Contains(err.Error(), "/sweeps/vit/sub-02 has no ROI labels") {
			t.Errorf("ROIs of one subject only (first %v): got %v", first, err)
		}
	}
}
