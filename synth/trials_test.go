package synth

import (
	"context"
	"math"
	"strconv"
	"testing"

	"github.com/brainalign/brainalign/ceiling"
)

// Trials average back to the subject's data, each image shown once per session, and the noise
// ceiling estimated from them is the planted rho_t (0 for pure-noise targets).
func TestFMRITrials(t *testing.T) {
	ds := demoData(t)
	c, f, ft := ds.Config, ds.FMRI, ds.Truth.FMRI
	const K = 3
	trials, image := f.Trials(c, 1, K, ft)
	n, m := c.Images, c.FMRI.Targets
	if trials.Rows != K*n || trials.Cols != m || len(image) != K*n {
		t.Fatalf("trials %d x %d, %d images", trials.Rows, trials.Cols, len(image))
	}
	for i := range n {
		if image[i] != i {
			t.Fatalf("session 0 row %d shows image %d", i, image[i])
		}
	}
	ids := make([]string, len(image))
	for r, i := range image {
		ids[r] = strconv.Itoa(i)
	}
	res, err := ceiling.Estimate(context.Background(), trials, ids, ceiling.Options{Average: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stimuli) != n || res.RepeatedStimuli != n || math.Abs(res.NoiseTerm-1.0/K) > 1e-12 {
		t.Fatalf("%d stimuli, %d repeated, noise term %v", len(res.Stimuli), res.RepeatedStimuli, res.NoiseTerm)
	}
	data := f.Subjects[1].Data.F32
	for j, v := range res.Averaged.F32 {
		if d := math.Abs(float64(v - data[j])); d > 1e-5*(1+math.Abs(float64(data[j]))) {
			t.Fatalf("averaged trials[%d] = %v, data %v", j, v, data[j])
		}
	}
	var errSignal, errNoise, bias float64
	var nSignal, nNoise int
	for tg, rho := range ft.Signal {
		if ft.Noise[tg] {
			errNoise += res.Ceiling[tg]
			nNoise++
		} else {
			errSignal += math.Abs(res.Ceiling[tg] - rho)
			bias += res.Ceiling[tg] - rho
			nSignal++
		}
	}
	// 600 images: a signal target's ceiling is estimated within sampling error (about 0.04 on
	// average), without bias; a noise target's is small and positive (the estimate is truncated
	// at 0)
	if e, b := errSignal/float64(nSignal), bias/float64(nSignal); e > 0.05 || math.Abs(b) > 0.015 {
		t.Errorf("signal targets: mean |ceiling - rho| = %.3f, mean ceiling - rho = %.4f", e, b)
	}
	if e := errNoise / float64(nNoise); e > 0.15 {
		t.Errorf("noise targets: mean ceiling %.3f, want near 0", e)
	}
	t.Logf("mean |ceiling - rho| %.4f (bias %.4f) over %d signal targets; mean ceiling %.4f over %d noise targets",
		errSignal/float64(nSignal), bias/float64(nSignal), nSignal, errNoise/float64(nNoise), nNoise)
}
