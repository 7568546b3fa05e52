package ceiling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/stats"
)

type fixture struct {
	Trials      []float64 `json:"trials"`
	Shape       []int     `json:"shape"`
	IDs         []string  `json:"ids"`
	Sessions    []int     `json:"sessions"`
	NoiseTerm   float64   `json:"noise_term"`
	NoiseVar    []float64 `json:"noise_var"`
	SignalVar   []float64 `json:"signal_var"`
	NCSNR       []float64 `json:"ncsnr"`
	SplitHalfR  []float64 `json:"split_half_r"`
	Explainable []float64 `json:"explainable"`
	Ceiling     []float64 `json:"ceiling"`
	Stimuli     []string  `json:"stimuli"`
	Averaged    []float64 `json:"averaged"`
	Halves      [][]int8  `json:"halves"`
}

func loadFixture(t *testing.T, name string) fixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "ceiling", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func near(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > tol*(1+math.Abs(want[i])) {
			t.Errorf("%s[%d] = %.12g, want %.12g", what, i, got[i], want[i])
		}
	}
}

// NSD's ncsnr and noise ceiling, computed with NumPy/SciPy from the published formulas, on
// trials with session drifts, one to four repeats per image and a constant voxel.
func TestNCSNRMatchesNumPy(t *testing.T) {
	f := loadFixture(t, "ncsnr")
	for _, f32 := range []bool{false, true} {
		y := engine.NewMatrix64(f.Shape[0], f.Shape[1], f.Trials)
		tol := 1e-10
		if f32 {
			y = toFloat32(y)
			tol = 1e-5
		}
		res, err := Estimate(context.Background(), y, f.IDs, Options{Groups: f.Sessions, Average: true, MaxBlockBytes: 1})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(res.NoiseTerm-f.NoiseTerm) > 1e-15 {
			t.Errorf("noise term %v, want %v", res.NoiseTerm, f.NoiseTerm)
		}
		near(t, "noise variance", res.NoiseVar, f.NoiseVar, tol)
		near(t, "signal variance", res.SignalVar, f.SignalVar, tol)
		near(t, "ncsnr", res.SNR, f.NCSNR, tol)
		near(t, "explainable", res.Explainable, f.Explainable, tol)
		near(t, "ceiling", res.Ceiling, f.Ceiling, tol)
		if strings.Join(res.Stimuli, ",") != strings.Join(f.Stimuli, ",") {
			t.Errorf("stimuli %v, want %v", res.Stimuli, f.Stimuli)
		}
		avg := res.Averaged.F64
		if f32 {
			avg = toFloat64(res.Averaged.F32)
		}
		near(t, "averaged", avg, f.Averaged, tol)
		if res.Constant != 1 || res.Groups != 3 {
			t.Errorf("constant %d groups %d, want 1 and 3", res.Constant, res.Groups)
		}
	}
}

// Split-half on the fixture's own random splits: the mean of Pearson's r between half means,
// then the Spearman-Brown 2r/(1+r) with two trials per image, or with three (halves of one and
// two trials) the signal-to-noise solved by NumPy's np.roots.
func TestSplitHalfMatchesNumPy(t *testing.T) {
	for _, name := range []string{"splithalf2", "splithalf3"} {
		f := loadFixture(t, name)
		y := engine.NewMatrix64(f.Shape[0], f.Shape[1], f.Trials)
		res, err := Estimate(context.Background(), y, f.IDs, Options{Method: SplitHalf, halves: f.Halves})
		if err != nil {
			t.Fatal(err)
		}
		near(t, name+" split-half r", res.SplitHalfR, f.SplitHalfR, 1e-12)
		near(t, name+" explainable", res.Explainable, f.Explainable, 1e-10)
		near(t, name+" ceiling", res.Ceiling, f.Ceiling, 1e-10)
		if res.NoiseVar != nil || res.Splits != len(f.Halves) {
			t.Errorf("%s: split-half result has noise variances or %d splits", name, res.Splits)
		}
	}
}

// planted simulates targets with known signal-to-noise ratios: stimulus signals of standard
// deviation snr[j], unit trial noise, repeats drawn from counts.
type planted struct {
	y      engine.Matrix
	ids    []string
	truth  []float64 // the signals (stimuli x targets)
	snr    []float64
	counts []int
}

func plant(seed uint64, stimuli int, counts []int, snr []float64) planted {
	return plantCounts(seed, stimuli, func(rng *rand.Rand, _ int) int { return counts[rng.IntN(len(counts))] }, snr)
}

// plantCounts is plant with stimulus s shown count(rng, s) times.
func plantCounts(seed uint64, stimuli int, count func(rng *rand.Rand, s int) int, snr []float64) planted {
	rng := rand.New(rand.NewPCG(seed, 1))
	m := len(snr)
	p := planted{snr: snr, truth: make([]float64, stimuli*m)}
	var order []int
	for s := range stimuli {
		n := count(rng, s)
		p.counts = append(p.counts, n)
		for range n {
			order = append(order, s)
		}
		for j := range m {
			p.truth[s*m+j] = snr[j] * rng.NormFloat64()
		}
	}
	rng.Shuffle(len(order), func(i, k int) { order[i], order[k] = order[k], order[i] })
	data := make([]float64, len(order)*m)
	for t, s := range order {
		p.ids = append(p.ids, strconv.Itoa(s))
		for j := range m {
			data[t*m+j] = p.truth[s*m+j] + rng.NormFloat64()
		}
	}
	p.y = engine.NewMatrix64(len(order), m, data)
	return p
}

// The estimators recover planted signal-to-noise ratios, and the ceiling is the correlation that
// the true signal actually reaches with the averaged data.
func TestPlantedTruth(t *testing.T) {
	snr := []float64{0, 0.25, 0.5, 0.75, 1, 1.5, 2, 3}
	reps := 40 // independent targets per snr
	var all []float64
	for _, s := range snr {
		for range reps {
			all = append(all, s)
		}
	}
	p := plant(1, 1500, []int{1, 2, 3, 3, 4}, all)
	for _, method := range []Method{NCSNR, SplitHalf} {
		res, err := Estimate(context.Background(), p.y, p.ids, Options{Method: method, Splits: 20, Average: true})
		if err != nil {
			t.Fatal(err)
		}
		// the true signals in the averaged data's row order
		S := len(res.Stimuli)
		truth := make([]float64, 0, len(p.truth))
		for _, id := range res.Stimuli {
			s, _ := strconv.Atoi(id)
			truth = append(truth, p.truth[s*len(all):(s+1)*len(all)]...)
		}
		var nu float64
		for _, n := range p.counts {
			nu += 1 / float64(n)
		}
		nu /= float64(len(p.counts))
		for k, s := range snr {
			var est, ceil, actual float64
			for j := k * reps; j < (k+1)*reps; j++ {
				est += res.SNR[j]
				ceil += res.Ceiling[j]
				actual += corrColumn(truth, res.Averaged.F64, j, len(all), S)
			}
			est, ceil, actual = est/float64(reps), ceil/float64(reps), actual/float64(reps)
			want := math.Sqrt(s * s / (s*s + nu))
			// a target without signal gets a small positive estimate (the noise is truncated at 0,
			// as the package documents), so compare there loosely; elsewhere within a few percent
			tolSNR, tolCeil := 0.02+0.02*s, 0.015
			if s == 0 {
				tolSNR, tolCeil = 0.1, 0.12
			}
			t.Logf("%s: snr %.2f: estimate %.3f, ceiling %.3f, theory %.3f, actual %.3f", method, s, est, ceil, want, actual)
			if math.Abs(est-s) > tolSNR {
				t.Errorf("%s: snr %.2f estimated as %.3f (mean of %d targets)", method, s, est, reps)
			}
			if math.Abs(ceil-want) > tolCeil || math.Abs(ceil-actual) > tolCeil {
				t.Errorf("%s: snr %.2f: ceiling %.3f, theory %.3f, correlation of truth with averaged data %.3f",
					method, s, ceil, want, actual)
			}
		}
	}
}

// corrColumn is Pearson's r (package stats, checked against SciPy) between column j of two
// S x m row-major matrices.
func corrColumn(a, b []float64, j, m, S int) float64 {
	x, y := make([]float64, S), make([]float64, S)
	for i := range S {
		x[i], y[i] = a[i*m+j], b[i*m+j]
	}
	r, _, err := stats.Pearson(x, y)
	if err != nil {
		return 0 // a constant column: no correlation
	}
	return r
}

// Session drifts (offsets and gains) hide the signal unless trials are z-scored per session.
func TestZScoreGroupsRemoveSessionDrift(t *testing.T) {
	p := plant(2, 1200, []int{3}, []float64{1, 1, 1, 1, 1, 1, 1, 1})
	groups := make([]int, p.y.Rows)
	for tr := range groups {
		session := tr * 4 / p.y.Rows               // 4 sessions of consecutive trials
		groups[tr] = []int{-7, 1e9, 3, 0}[session] // labels are names, not indices
		for j := range p.y.Cols {
			g := float64(session)
			p.y.F64[tr*p.y.Cols+j] = p.y.F64[tr*p.y.Cols+j]*(1+0.3*g) + 2*g
		}
	}
	mean := func(v []float64) float64 {
		var s float64
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	raw, err := Estimate(context.Background(), p.y, p.ids, Options{})
	if err != nil {
		t.Fatal(err)
	}
	z, err := Estimate(context.Background(), p.y, p.ids, Options{Groups: groups})
	if err != nil {
		t.Fatal(err)
	}
	if got := mean(z.SNR); math.Abs(got-1) > 0.08 {
		t.Errorf("z-scored per session: snr %.3f, want about 1", got)
	}
	if got := mean(raw.SNR); got > 0.7 {
		t.Errorf("without z-scoring the drifts should swamp the signal; snr %.3f", got)
	}
}

func TestDegenerateTargets(t *testing.T) {
	// target 0 constant, target 1 identical repeats (noise exactly 0), target 2 ordinary
	ids := []string{"a", "b", "a", "c", "b", "c", "a"}
	vals := [][3]float64{{5, 1, 0.3}, {5, 2, 1.1}, {5, 1, -0.2}, {5, 4, 0.9}, {5, 2, 2.0}, {5, 4, 0.1}, {5, 1, 0.7}}
	data := make([]float64, 0, 21)
	for _, v := range vals {
		data = append(data, v[:]...)
	}
	y := engine.NewMatrix64(7, 3, data)
	for _, method := range []Method{NCSNR, SplitHalf} {
		res, err := Estimate(context.Background(), y, ids, Options{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if res.Ceiling[0] != 0 || res.Ceiling[1] != 1 || !math.IsInf(res.SNR[1], 1) {
			t.Errorf("%s: ceilings %v, snr %v: want 0 for the constant target, 1 and +Inf for the noiseless one", method, res.Ceiling, res.SNR)
		}
		if res.Constant != 1 || res.NoNoise != 1 {
			t.Errorf("%s: constant %d, no noise %d, want 1 and 1", method, res.Constant, res.NoNoise)
		}
		if !(res.Ceiling[2] >= 0 && res.Ceiling[2] < 1) {
			t.Errorf("%s: ordinary target's ceiling %v", method, res.Ceiling[2])
		}
	}
}

// Block size, worker count and storage order change nothing.
func TestBlocksAgree(t *testing.T) {
	p := plant(3, 300, []int{1, 2, 4}, []float64{0.3, 0.8, 1.2, 0.1, 2, 0.6, 0.9, 1.1, 0.4, 0.7, 1.3})
	// two workers or more, and Estimate must leave the setting alone
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	defer func() {
		if now := runtime.GOMAXPROCS(0); now != 3 {
			t.Errorf("GOMAXPROCS %d after Estimate, was 3: workers are counted, not set", now)
		}
	}()
	for _, method := range []Method{NCSNR, SplitHalf} {
		whole, err := Estimate(context.Background(), p.y, p.ids, Options{Method: method, Seed: 4})
		if err != nil {
			t.Fatal(err)
		}
		cols, err := Estimate(context.Background(), p.y, p.ids, Options{Method: method, Seed: 4, MaxBlockBytes: 1})
		if err != nil {
			t.Fatal(err)
		}
		for j := range whole.Ceiling {
			if whole.Ceiling[j] != cols.Ceiling[j] || whole.SNR[j] != cols.SNR[j] {
				t.Errorf("%s target %d: %v vs %v one column at a time", method, j, whole.Ceiling[j], cols.Ceiling[j])
			}
		}
		// column-major storage (a Fortran-order .npy) reads the same values
		fortran := engine.Matrix{Rows: p.y.Rows, Cols: p.y.Cols, ColMajor: true, F64: make([]float64, len(p.y.F64))}
		for i := range p.y.Rows {
			for j := range p.y.Cols {
				fortran.F64[j*p.y.Rows+i] = p.y.F64[i*p.y.Cols+j]
			}
		}
		colMajor, err := Estimate(context.Background(), fortran, p.ids, Options{Method: method, Seed: 4})
		if err != nil {
			t.Fatal(err)
		}
		for j := range whole.Ceiling {
			if whole.Ceiling[j] != colMajor.Ceiling[j] {
				t.Errorf("%s target %d: %v vs %v from column-major data", method, j, whole.Ceiling[j], colMajor.Ceiling[j])
			}
		}
	}
}

func TestSplitHalfSeed(t *testing.T) {
	p := plant(4, 200, []int{3, 5}, []float64{0.5, 1})
	a, _ := Estimate(context.Background(), p.y, p.ids, Options{Method: SplitHalf, Seed: 1, Splits: 2})
	b, _ := Estimate(context.Background(), p.y, p.ids, Options{Method: SplitHalf, Seed: 1, Splits: 2})
	c, _ := Estimate(context.Background(), p.y, p.ids, Options{Method: SplitHalf, Seed: 2, Splits: 2})
	if a.SplitHalfR[0] != b.SplitHalfR[0] {
		t.Error("same seed, different split-half r")
	}
	if a.SplitHalfR[0] == c.SplitHalfR[0] {
		t.Error("another seed gave the same splits")
	}
}

// snrFromSplitHalf inverts r = S / sqrt((S + a)(S + b)).
func TestSNRFromSplitHalfInverts(t *testing.T) {
	for _, S := range []float64{1e-4, 0.01, 0.3, 1, 4, 50} {
		for _, nu := range [][2]float64{{1, 1}, {1, 0.5}, {0.25, 1.0 / 3}} {
			r := S / math.Sqrt((S+nu[0])*(S+nu[1]))
			if got := snrFromSplitHalf(r, nu[0], nu[1]); math.Abs(got-S) > 1e-9*(1+S) {
				t.Errorf("S %v nu %v: r %v inverted to %v", S, nu, r, got)
			}
		}
	}
	if snrFromSplitHalf(-0.2, 1, 1) != 0 || !math.IsInf(snrFromSplitHalf(1, 1, 1), 1) {
		t.Error("r <= 0 must give 0, r = 1 +Inf")
	}
}

func TestErrors(t *testing.T) {
	y := engine.NewMatrix64(4, 2, []float64{1, 2, 3, 4, 5, 6, 7, 8})
	ctx := context.Background()
	cases := []struct {
		ids  []string
		o    Options
		want string
	}{
		{[]string{"a", "b", "c"}, Options{}, "3 stimulus ids for 4 trials"},
		{[]string{"a", "b", "c", "d"}, Options{}, "at least one repeated stimulus"},
		{[]string{"a", "a", "a", "a"}, Options{}, "two stimuli"},
		{[]string{"a", "a", "b", "b"}, Options{Method: SplitHalf}, "at least three repeated"},
		{[]string{"a", "a", "b", "c"}, Options{Groups: []int{0, 1}}, "2 group labels for 4 trials"},
		{[]string{"a", "a", "b", "c"}, Options{Method: "loo"}, "unknown noise-ceiling method"},
		{[]string{"a", "a", "b", "c"}, Options{Splits: -1}, "split count"},
	}
	for _, c := range cases {
		_, err := Estimate(ctx, y, c.ids, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ids %v options %+v: error %v, want %q", c.ids, c.o, err, c.want)
		}
	}
	if _, err := Estimate(ctx, y, []string{"a", "b", "c", "d"}, Options{}); !errors.Is(err, ErrNoRepeats) {
		t.Errorf("no repeats: %v is not ErrNoRepeats", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Estimate(cancelled, y, []string{"a", "a", "b", "c"}, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func toFloat32(m engine.Matrix) engine.Matrix {
	out := make([]float32, len(m.F64))
	for i, v := range m.F64 {
		out[i] = float32(v)
	}
	return engine.NewMatrix32(m.Rows, m.Cols, out)
}

func toFloat64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func TestDivide(t *testing.T) {
	got, below := Divide([]float64{0.2, 0.3, 0.05, 0.4, -0.1}, []float64{0.5, 0.05, 0, 1, 0.5}, 0.1)
	want := []float64{0.4, math.NaN(), math.NaN(), 0.4, -0.2}
	for j := range want {
		if !(got[j] == want[j] || math.IsNaN(got[j]) && math.IsNaN(want[j])) {
			t.Errorf("ceiled[%d] = %v, want %v", j, got[j], want[j])
		}
	}
	if below != 2 {
		t.Errorf("%d below the floor, want 2", below)
	}
	// a ceiling equal to the floor is not below it
	if got, below := Divide([]float64{0.1}, []float64{0.5}, 0.5); got[0] != 0.2 || below != 0 {
		t.Errorf("a ceiling at the floor gave %v (%d below), want 0.2", got[0], below)
	}
	if got, _ := Divide([]float64{0.1}, []float64{0}, 0); !math.IsNaN(got[0]) {
		t.Errorf("a zero ceiling with floor 0 gave %v, want NaN", got[0])
	}
}

func TestProgress(t *testing.T) {
	p := plant(5, 50, []int{2}, make([]float64, 37))
	var calls, last int
	_, err := Estimate(context.Background(), p.y, p.ids, Options{MaxBlockBytes: 1, Progress: func(done, total int) {
		if total != 37 || done <= last {
			t.Errorf("progress %d of %d after %d", done, total, last)
		}
		calls, last = calls+1, done
	}})
	if err != nil || calls != 37 || last != 37 {
		t.Errorf("%d progress calls, last %d, error %v", calls, last, err)
	}
}

// Trials in several parts (one per session) give what the stacked matrix gives.
func TestEstimateParts(t *testing.T) {
	f := loadFixture(t, "ncsnr")
	m := f.Shape[1]
	whole, err := Estimate(context.Background(), engine.NewMatrix64(f.Shape[0], m, f.Trials), f.IDs, Options{Groups: f.Sessions, Average: true})
	if err != nil {
		t.Fatal(err)
	}
	var parts []engine.Matrix
	for start := 0; start < len(f.Sessions); {
		end := start
		for end < len(f.Sessions) && f.Sessions[end] == f.Sessions[start] {
			end++
		}
		parts = append(parts, engine.NewMatrix64(end-start, m, f.Trials[start*m:end*m]))
		start = end
	}
	if len(parts) != 3 {
		t.Fatalf("%d sessions in the fixture", len(parts))
	}
	split, err := EstimateParts(context.Background(), parts, f.IDs, Options{Groups: f.Sessions, Average: true, MaxBlockBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	for j := range whole.Ceiling {
		if split.Ceiling[j] != whole.Ceiling[j] || split.SNR[j] != whole.SNR[j] {
			t.Errorf("target %d: %v from parts, %v whole", j, split.Ceiling[j], whole.Ceiling[j])
		}
	}
	for i, v := range whole.Averaged.F64 {
		if split.Averaged.F64[i] != v {
			t.Fatalf("averaged[%d]: %v from parts, %v whole", i, split.Averaged.F64[i], v)
		}
	}
	// float32 and float64 parts together average in float64
	mixed := append([]engine.Matrix{toFloat32(parts[0])}, parts[1:]...)
	res, err := EstimateParts(context.Background(), mixed, f.IDs, Options{Average: true})
	if err != nil || !res.Averaged.Is64() {
		t.Errorf("mixed precision: %v, float64 averaged %v", err, err == nil && res.Averaged.Is64())
	}
	bad := []engine.Matrix{parts[0], engine.NewMatrix64(2, m+1, make([]float64, 2*(m+1)))}
	if _, err := EstimateParts(context.Background(), bad, f.IDs[:parts[0].Rows+2], Options{}); err == nil || !strings.Contains(err.Error(), "trials part 2 has 8 targets, part 1 7") {
		t.Errorf("parts of different widths: %v", err)
	}
}

// A fixed test set shown more often than the other stimuli (THINGS-MEG: 200 test images of 12
// trials, the others once) has its own ceiling: with Options.Scored it is the correlation the
// true signal reaches with the test stimuli's averages, far above the ceiling of all stimuli.
func TestScoredStimuliCeiling(t *testing.T) {
	snr := []float64{0.25, 0.5, 1}
	reps := 40
	var all []float64
	for _, s := range snr {
		for range reps {
			all = append(all, s)
		}
	}
	const stimuli, test = 1500, 300
	p := plantCounts(3, stimuli, func(_ *rand.Rand, s int) int {
		if s < test {
			return 12
		}
		return 1
	}, all)
	var scored []string
	for s := range test {
		scored = append(scored, strconv.Itoa(s))
	}
	scored = append(scored, "never-shown", "0") // counted once, reported
	for _, method := range []Method{NCSNR, SplitHalf} {
		res, err := Estimate(context.Background(), p.y, p.ids, Options{Method: method, Splits: 20, Average: true, Scored: scored})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(res.NoiseTerm-1.0/12) > 1e-15 || res.ScoredStimuli != test || res.ScoredMissing != 1 {
			t.Fatalf("%s: nu %v over %d stimuli (%d missing), want 1/12 over %d (1 missing)", method, res.NoiseTerm, res.ScoredStimuli, res.ScoredMissing, test)
		}
		// the truth and the averages of the test stimuli, in the averaged data's row order
		m := len(all)
		var truth, avg []float64
		for r, id := range res.Stimuli {
			if s, _ := strconv.Atoi(id); s < test {
				truth = append(truth, p.truth[s*m:(s+1)*m]...)
				avg = append(avg, res.Averaged.F64[r*m:(r+1)*m]...)
			}
		}
		for k, s := range snr {
			var ceil, actual float64
			for j := k * reps; j < (k+1)*reps; j++ {
				ceil += res.Ceiling[j]
				actual += corrColumn(truth, avg, j, m, test)
			}
			ceil, actual = ceil/float64(reps), actual/float64(reps)
			want := math.Sqrt(s * s / (s*s + 1.0/12))
			t.Logf("%s: snr %.2f: test-set ceiling %.3f, theory %.3f, actual %.3f", method, s, ceil, want, actual)
			if math.Abs(ceil-want) > 0.03 || math.Abs(ceil-actual) > 0.03 {
				t.Errorf("%s: snr %.2f: test-set ceiling %.3f, theory %.3f, correlation of truth with the test averages %.3f", method, s, ceil, want, actual)
			}
		}
	}
	if _, err := Estimate(context.Background(), p.y, p.ids, Options{Scored: []string{"x", "y"}}); err == nil || !strings.Contains(err.Error(), "none of the 2 scored stimuli") {
		t.Errorf("scored stimuli never shown: %v", err)
	}
}

// A target constant within each session is 0 there once z-scored, so constant over all trials
// (ceiling 0), though the mean of six trials of 0.1 is not 0.1 in floating point: its deviations
// of 1e-17 were divided by an sd of 1e-17, and a target that only follows the sessions had
// ceiling 1.
func TestZScoreConstantWithinSessions(t *testing.T) {
	ids := []string{"a", "b", "a", "b", "a", "b", "c", "d", "c", "d", "c", "d"}
	sessions := []int{0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1}
	y := engine.NewMatrix64(12, 1, []float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5})
	for _, method := range []Method{NCSNR, SplitHalf} {
		res, err := Estimate(context.Background(), y, ids, Options{Method: method, Groups: sessions, Average: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Ceiling[0] != 0 || res.Constant != 1 || res.NoNoise != 0 {
			t.Errorf("%s: ceiling %v, constant %d, noiseless %d: want 0, 1, 0", method, res.Ceiling, res.Constant, res.NoNoise)
		}
		for s, v := range res.Averaged.F64 {
			if v != 0 {
				t.Errorf("%s: averaged z-score of stimulus %s is %v, want 0", method, res.Stimuli[s], v)
			}
		}
	}
}

// Repeats that agree exactly are noiseless whatever their values: six trials of 0.1 average to
// 0.09999999999999999, which left a noise variance of 1e-34 and an ncsnr of 2e16, not +Inf, and
// the target was not counted as noiseless.
func TestNoiselessRepeatsOfInexactMean(t *testing.T) {
	var ids []string
	var data []float64
	for range 6 {
		ids, data = append(ids, "a", "b"), append(data, 0.1, 0.3)
	}
	ids, data = append(ids, "c", "c"), append(data, 0.7, 0.7)
	y := engine.NewMatrix64(len(ids), 1, data)
	for _, method := range []Method{NCSNR, SplitHalf} {
		res, err := Estimate(context.Background(), y, ids, Options{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if !math.IsInf(res.SNR[0], 1) || res.Ceiling[0] != 1 || res.NoNoise != 1 {
			t.Errorf("%s: snr %v, ceiling %v, noiseless %d: want +Inf, 1, 1", method, res.SNR, res.Ceiling, res.NoNoise)
		}
		if method == NCSNR && res.NoiseVar[0] != 0 {
			t.Errorf("noise variance %v, want 0", res.NoiseVar[0])
		}
	}
}

// The ceiling does not depend on the data's units: the NumPy fixtures' trials scaled by 1e-170
// or 1e170 give the fixtures' ceilings (their sums of squares underflowed to 0 or overflowed:
// ncsnr called every target noiseless or NaN, split-half gave r = 0 and z-scoring made every
// target constant).
func TestUnitsDoNotMatter(t *testing.T) {
	for _, unit := range []float64{1e-170, 1e170} {
		f := loadFixture(t, "ncsnr")
		for i := range f.Trials {
			f.Trials[i] *= unit
		}
		y := engine.NewMatrix64(f.Shape[0], f.Shape[1], f.Trials)
		res, err := Estimate(context.Background(), y, f.IDs, Options{Groups: f.Sessions, Average: true})
		if err != nil {
			t.Fatal(err)
		}
		what := fmt.Sprintf("unit %g: ", unit)
		near(t, what+"noise variance (z-scored)", res.NoiseVar, f.NoiseVar, 1e-10)
		near(t, what+"ncsnr", res.SNR, f.NCSNR, 1e-10)
		near(t, what+"ceiling", res.Ceiling, f.Ceiling, 1e-10)
		near(t, what+"averaged (z-scored)", res.Averaged.F64, f.Averaged, 1e-10)
		for _, name := range []string{"splithalf2", "splithalf3"} {
			f := loadFixture(t, name)
			for i := range f.Trials {
				f.Trials[i] *= unit
			}
			y := engine.NewMatrix64(f.Shape[0], f.Shape[1], f.Trials)
			res, err := Estimate(context.Background(), y, f.IDs, Options{Method: SplitHalf, halves: f.Halves})
			if err != nil {
				t.Fatal(err)
			}
			near(t, what+name+" split-half r", res.SplitHalfR, f.SplitHalfR, 1e-12)
			near(t, what+name+" ceiling", res.Ceiling, f.Ceiling, 1e-10)
		}
	}
}

// ncsnr by hand, in units of 2^-500 and 2^-540 (where squares of the deviations underflow) and
// 2^540 (where they overflow). Stimulus a: 1, 3 (sum of squares 2); b: 5, 5 (0); c: 0, once.
// sigma_n^2 = 2 / (1 + 1) = 1; the total variance of 1, 3, 5, 5, 0 is 20.8 / 4 = 5.2, so
// sigma_s^2 = 4.2, snr^2 = 4.2 and with nu = (1/2 + 1/2 + 1) / 3 = 2/3 explainable = 4.2 / (4.2 +
// 2/3) = 63/73. The variances are in the data's units squared: 2^-1000 at 2^-500.
func TestNCSNRByHandInAnyUnits(t *testing.T) {
	ids := []string{"a", "b", "a", "c", "b"}
	for _, e := range []int{0, -500, -540, 540, -1050} {
		data := []float64{1, 5, 3, 0, 5}
		for i := range data {
			data[i] = math.Ldexp(data[i], e)
		}
		res, err := Estimate(context.Background(), engine.NewMatrix64(5, 1, data), ids, Options{Average: true})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(res.SNR[0]-math.Sqrt(4.2)) > 1e-15 || math.Abs(res.Explainable[0]-63.0/73) > 1e-15 ||
			math.Abs(res.Ceiling[0]-math.Sqrt(63.0/73)) > 1e-15 || res.NoNoise != 0 {
			t.Errorf("2^%d: snr %v, explainable %v, ceiling %v, noiseless %d: want sqrt 4.2, 63/73, its root, 0",
				e, res.SNR[0], res.Explainable[0], res.Ceiling[0], res.NoNoise)
		}
		if e >= -500 && e <= 0 {
			unit2 := math.Ldexp(1, 2*e)
			if res.NoiseVar[0] != unit2 || math.Abs(res.SignalVar[0]/unit2-4.2) > 1e-15 {
				t.Errorf("2^%d: noise variance %v, signal variance %v: want 1 and 4.2 times 2^%d", e, res.NoiseVar[0], res.SignalVar[0], 2*e)
			}
		}
		want := []float64{2, 5, 0} // a, b, c in order of first appearance
		for s, v := range res.Averaged.F64 {
			if v != math.Ldexp(want[s], e) {
				t.Errorf("2^%d: averaged %v, want %v times 2^%d", e, res.Averaged.F64, want, e)
				break
			}
		}
	}
}

// Split-half by hand on one given split. Two trials per stimulus: the half means of a, b, c are
// 1, 2, 3 and 1, 3, 2, whose deviations -1, 0, 1 and -1, 1, 0 give r = 1 / 2; equal halves of one
// trial give S = r / (1 - r) = 1, and with d shown once nu = (3/2 + 1) / 4 = 5/8, so explainable
// = 1 / (1 + 5/8) = 8/13 (2r / (1 + r) = 2/3 without d). Three trials per stimulus, one in half A:
// the same means give 6 S^2 - 3 S - 1 = 0 (r^2 = S^2 / ((S + 1)(S + 1/2))), S = (3 + sqrt 33) / 12,
// and nu = 1/3.
func TestSplitHalfByHand(t *testing.T) {
	s3 := (3 + math.Sqrt(33)) / 12
	cases := []struct {
		ids         []string
		y           []float64
		half        []int8
		r, snr2     float64
		expl        float64
		description string
	}{
		{[]string{"a", "a", "b", "b", "c", "c", "d"}, []float64{1, 1, 2, 3, 3, 2, 5}, []int8{0, 1, 0, 1, 0, 1, -1}, 0.5, 1, 8.0 / 13, "two trials"},
		{[]string{"a", "a", "b", "b", "c", "c"}, []float64{1, 1, 2, 3, 3, 2}, []int8{0, 1, 0, 1, 0, 1}, 0.5, 1, 2.0 / 3, "Spearman-Brown"},
		// half means 1, 2, 3 and 3, 1, 2: deviations -1, 0, 1 and 1, -1, 0, r = -1/2, no signal
		{[]string{"a", "a", "b", "b", "c", "c"}, []float64{1, 3, 2, 1, 3, 2}, []int8{0, 1, 0, 1, 0, 1}, -0.5, 0, 0, "negative r"},
		// a half whose means are all equal correlates by 0 (not 0/0) with the other
		{[]string{"a", "a", "b", "b", "c", "c"}, []float64{1, 1, 1, 3, 1, 2}, []int8{0, 1, 0, 1, 0, 1}, 0, 0, 0, "constant half A"},
		{[]string{"a", "a", "b", "b", "c", "c"}, []float64{1, 1, 3, 1, 2, 1}, []int8{0, 1, 0, 1, 0, 1}, 0, 0, 0, "constant half B"},
		// half means 3, 2, 5 and three times that: r is 1, but with the mean 10/3 rounded sab /
		// sqrt(saa sbb) is 1 + 2^-52, clipped to 1 as SciPy clips it (the trials differ: not
		// noiseless by value)
		{[]string{"a", "a", "b", "b", "c", "c"}, []float64{3, 9, 2, 6, 5, 15}, []int8{0, 1, 0, 1, 0, 1}, 1, math.Inf(1), 1, "collinear halves"},
		// and -3 times that: r rounds to -1 - 2^-52, clipped to -1
		{[]string{"a", "a", "b", "b", "c", "c"}, []float64{3, -9, 2, -6, 5, -15}, []int8{0, 1, 0, 1, 0, 1}, -1, 0, 0, "anti-collinear halves"},
		{[]string{"a", "b", "c", "a", "b", "c", "a", "b", "c"}, []float64{1, 2, 3, 1, 2, 1, 1, 4, 3}, []int8{0, 0, 0, 1, 1, 1, 1, 1, 1}, 0.5, s3, s3 / (s3 + 1.0/3), "three trials"},
	}
	for _, c := range cases {
		y := engine.NewMatrix64(len(c.y), 1, c.y)
		res, err := Estimate(context.Background(), y, c.ids, Options{Method: SplitHalf, halves: [][]int8{c.half}})
		if err != nil {
			t.Fatal(err)
		}
		close := func(got, want float64) bool { return got == want || math.Abs(got-want) <= 1e-15 }
		if res.Splits != 1 || !close(res.SplitHalfR[0], c.r) || math.Abs(res.SplitHalfR[0]) > 1 || !close(res.SNR[0], math.Sqrt(c.snr2)) ||
			!close(res.Explainable[0], c.expl) || !close(res.Ceiling[0], math.Sqrt(c.expl)) {
			t.Errorf("%s: %d splits, r %v, snr %v, explainable %v, ceiling %v: want 1, %v, %v, %v, its root",
				c.description, res.Splits, res.SplitHalfR[0], res.SNR[0], res.Explainable[0], res.Ceiling[0], c.r, math.Sqrt(c.snr2), c.expl)
		}
	}
}

// Random splits put floor(n/2) of a stimulus's trials in half A and the rest in B, every split
// (-1 for a stimulus shown once), and nu_A, nu_B are the means of 1/|A| and 1/|B| over the
// repeated stimuli.
func TestSplitPlanHalves(t *testing.T) {
	var ids []string
	for n := 1; n <= 7; n++ {
		for range n {
			ids = append(ids, strconv.Itoa(n))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	d := newDesign(ids)
	p := newSplitPlan(d, 6, 3, nil)
	if len(p.half) != 6 {
		t.Fatalf("%d splits, want 6", len(p.half))
	}
	for s, name := range d.names {
		if n, _ := strconv.Atoi(name); (n == 1) != (p.repeatedOf[s] == -1) || n > 1 && d.repeated[p.repeatedOf[s]] != s {
			t.Errorf("stimulus %s shown %d times has index %d among the repeated ones", name, n, p.repeatedOf[s])
		}
	}
	var wantA, wantB float64 // n = 2..7: |A| = 1, 1, 2, 2, 3, 3
	for n := 2; n <= 7; n++ {
		wantA += 1 / float64(n/2) / 6
		wantB += 1 / float64(n-n/2) / 6
	}
	if math.Abs(p.nuA-wantA) > 1e-15 || math.Abs(p.nuB-wantB) > 1e-15 {
		t.Errorf("nu_A %v, nu_B %v, want %v and %v", p.nuA, p.nuB, wantA, wantB)
	}
	differ := false
	for k, half := range p.half {
		inA := map[string]int{}
		for tr, h := range half {
			n, _ := strconv.Atoi(ids[tr])
			if h == 0 {
				inA[ids[tr]]++
			}
			if (n == 1) != (h == -1) || h < -1 || h > 1 {
				t.Errorf("split %d: trial %d of a stimulus shown %d times in half %d", k, tr, n, h)
			}
			differ = differ || h != p.half[0][tr]
		}
		for n := 2; n <= 7; n++ {
			if got := inA[strconv.Itoa(n)]; got != n/2 {
				t.Errorf("split %d: %d of %d trials in half A, want %d", k, got, n, n/2)
			}
		}
	}
	if !differ {
		t.Error("six random splits are all the same")
	}
}

// Exactly agreeing repeats are noiseless beside other targets in a block too (the first trial of
// each stimulus is looked up per column), beside a stimulus shown once, and with halves of unequal size, whose means differ (of
// three trials of 0.3, 0.29999999999999993; of four, 0.3), so that r is a few ulps below 1.
func TestNoiselessBesideNoisyTargets(t *testing.T) {
	var ids []string
	var data []float64
	for k := range 7 {
		ids = append(ids, "a", "b", "c")
		data = append(data, float64(k%3), 0.2, float64(k%2), 0.3, float64(k%4), 0.95)
	}
	// a stimulus shown once, whose value is not the first trial's: it is its own first trial
	ids, data = append(ids, "d"), append(data, 5, 0.5)
	y := engine.NewMatrix64(len(ids), 2, data)
	for _, method := range []Method{NCSNR, SplitHalf} {
		res, err := Estimate(context.Background(), y, ids, Options{Method: method, Splits: 3})
		if err != nil {
			t.Fatal(err)
		}
		if !math.IsInf(res.SNR[1], 1) || res.Explainable[1] != 1 || res.Ceiling[1] != 1 || res.NoNoise != 1 {
			t.Errorf("%s: snr %v, explainable %v, ceiling %v, noiseless %d: want +Inf, 1, 1, 1", method, res.SNR[1], res.Explainable[1], res.Ceiling[1], res.NoNoise)
		}
		if method == SplitHalf && res.SplitHalfR[1] != 1 {
			t.Errorf("split-half r of the noiseless target %v, want 1", res.SplitHalfR[1])
		}
		if math.IsInf(res.SNR[0], 1) || math.IsNaN(res.Ceiling[0]) {
			t.Errorf("%s: the noisy target has snr %v, ceiling %v", method, res.SNR[0], res.Ceiling[0])
		}
	}
}

// z-scoring by hand, three targets. Session 0, trials of a, b, a, b: 1, 3, 1, 3, then 0, 2, 2, 0
// and 2, 4, 2, 4 (mean 2, 1 and 3, population sd 1: z = -1, 1, -1, 1, then -1, 1, 1, -1 and -1,
// 1, -1, 1). Session 1, trials of c, d six times: 0.1 throughout (constant there though it varied
// in session 0, and its mean of six is not 0.1: z = 0), 5, 7, ... (z = -1, 1, ...) and 2^-600
// times 5, 7, ... (z = -1, 1, ...: the squares of its deviations, 2^-1200, underflowed, and z
// was 0). Session 2 is one trial, e (z = 0). The stimulus means are a: -1, 0, -1; b: 1, 0, 1; c:
// 0, -1, -1; d: 0, 1, 1; e: 0, 0, 0.
func TestZScoreByHand(t *testing.T) {
	ids := []string{"a", "b", "a", "b"}
	data := []float64{1, 0, 2, 3, 2, 4, 1, 2, 2, 3, 0, 4}
	sessions := []int{0, 0, 0, 0}
	for k := range 6 {
		v := float64(5 + 2*(k%2))
		ids, data, sessions = append(ids, []string{"c", "d"}[k%2]), append(data, 0.1, v, math.Ldexp(v, -600)), append(sessions, 1)
	}
	ids, data, sessions = append(ids, "e"), append(data, 9, 4, 1), append(sessions, 2)
	y := engine.NewMatrix64(len(ids), 3, data)
	res, err := Estimate(context.Background(), y, ids, Options{Groups: sessions, Average: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{-1, 0, -1, 1, 0, 1, 0, -1, -1, 0, 1, 1, 0, 0, 0}
	if strings.Join(res.Stimuli, "") != "abcde" || res.Groups != 3 {
		t.Fatalf("stimuli %v, %d groups", res.Stimuli, res.Groups)
	}
	for i, v := range res.Averaged.F64 {
		if v != want[i] {
			t.Errorf("averaged z-scores %v, want %v", res.Averaged.F64, want)
			break
		}
	}
}

// ncsnr with two stimuli, one repeated (the fewest it takes): a 1, 3 and b 5 give sigma_n^2 =
// 2 / 1, a total variance of (4 + 0 + 4) / 2 = 4, sigma_s^2 = 2, snr^2 = 1, nu = (1/2 + 1) / 2 =
// 3/4 and explainable 1 / (1 + 3/4) = 4/7.
func TestNCSNRTwoStimuli(t *testing.T) {
	res, err := Estimate(context.Background(), engine.NewMatrix64(3, 1, []float64{1, 5, 3}), []string{"a", "b", "a"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.NoiseVar[0] != 2 || res.SignalVar[0] != 2 || res.SNR[0] != 1 || math.Abs(res.Explainable[0]-4.0/7) > 1e-15 {
		t.Errorf("noise %v, signal %v, snr %v, explainable %v: want 2, 2, 1, 4/7", res.NoiseVar[0], res.SignalVar[0], res.SNR[0], res.Explainable[0])
	}
}

// Parts are laid one after another in blocks wider than one column too, and a bad part is named
// by its number only when there are several.
func TestEstimatePartsBlocksAndNames(t *testing.T) {
	p := plant(6, 40, []int{1, 2, 3}, []float64{0.5, 1, 2})
	whole, err := Estimate(context.Background(), p.y, p.ids, Options{Average: true})
	if err != nil {
		t.Fatal(err)
	}
	m, cut := p.y.Cols, p.y.Rows/3
	parts := []engine.Matrix{engine.NewMatrix64(cut, m, p.y.F64[:cut*m]), engine.NewMatrix64(p.y.Rows-cut, m, p.y.F64[cut*m:])}
	split, err := EstimateParts(context.Background(), parts, p.ids, Options{Average: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range whole.Averaged.F64 {
		if split.Averaged.F64[i] != v {
			t.Fatalf("averaged[%d]: %v from parts, %v whole", i, split.Averaged.F64[i], v)
		}
	}
	for j := range whole.Ceiling {
		if split.Ceiling[j] != whole.Ceiling[j] {
			t.Errorf("target %d: ceiling %v from parts, %v whole", j, split.Ceiling[j], whole.Ceiling[j])
		}
	}
	bad := engine.Matrix{Rows: 2, Cols: 2, F64: make([]float64, 3)}
	if _, err := Estimate(context.Background(), bad, []string{"a", "a"}, Options{}); err == nil || !strings.HasPrefix(err.Error(), "trials: ") {
		t.Errorf("one bad matrix: %v, want an error about \"trials\"", err)
	}
	if _, err := EstimateParts(context.Background(), []engine.Matrix{parts[0], bad}, p.ids, Options{}); err == nil || !strings.HasPrefix(err.Error(), "trials part 2: ") {
		t.Errorf("a bad second part: %v, want an error about \"trials part 2\"", err)
	}
	if _, err := EstimateParts(context.Background(), nil, nil, Options{}); err == nil || err.Error() != "no trials" {
		t.Errorf("no parts: %v", err)
	}
}
