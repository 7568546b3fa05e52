package ceiling

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/brainalign/brainalign/engine"
)

// Method is how the signal-to-noise ratio is estimated.
type Method string

// The estimators (see the package documentation).
const (
	NCSNR     Method = "ncsnr"
	SplitHalf Method = "split-half"
)

// ParseMethod parses "ncsnr" or "split-half".
func ParseMethod(s string) (Method, error) {
	switch Method(s) {
	case NCSNR, SplitHalf:
		return Method(s), nil
	}
	return "", fmt.Errorf("unknown noise-ceiling method %q (want ncsnr or split-half)", s)
}

// DefaultSplits is the number of random split-halves averaged when Options.Splits is 0.
const DefaultSplits = 10

// Options configure Estimate. The zero value is the ncsnr method without z-scoring.
type Options struct {
	Method Method // "" is NCSNR
	Splits int    // split-half: random splits averaged (0: DefaultSplits)
	Seed   uint64 // split-half: random seed of the splits
	// Groups, when set, gives each trial's group label (e.g. its scanning session): every target
	// is z-scored within each group before anything else, as NSD does per session.
	Groups []int
	// Average asks for the stimulus means (Result.Averaged).
	Average bool
	// Scored, when set, are the stimuli whose averages the encoding scores are computed over (a
	// fixed test set): nu is the mean of 1/n_s over those only, so the ceiling is that of a
	// Pearson r over them (200 test images of 12 trials beside 22,000 of one, in THINGS-MEG, have
	// a far higher ceiling than all images). The noise and signal estimates use every trial.
	Scored []string
	// MaxBlockBytes bounds the working memory of the column blocks, all workers together
	// (0: 512 MiB). At least one column per worker is always processed.
	MaxBlockBytes int
	// Progress, if set, is called after each block of targets with the targets done and their
	// total (from several goroutines, never concurrently).
	Progress func(done, total int)

	halves [][]int8 // tests: the splits to use ([split][trial] 0 or 1), instead of random ones
}

// Result is the noise ceiling of every target (columns of the trials matrix).
type Result struct {
	Method Method
	Splits int // split-half: splits averaged

	Trials          int      // rows of the trials matrix
	Stimuli         []string // distinct ids in order of first appearance: the rows of Averaged
	Repeats         []int    // trials of each stimulus
	RepeatedStimuli int      // stimuli with two trials or more: the noise estimate's
	Groups          int      // z-scoring groups (0: none)
	// NoiseTerm is nu, the mean over stimuli (those of Options.Scored, when given) of 1/n_s: the
	// noise variance of the averaged data in units of one trial's.
	NoiseTerm float64
	// ScoredStimuli is the number of stimuli nu is the mean over: all, or those of
	// Options.Scored that were shown (ScoredMissing: listed but never shown).
	ScoredStimuli, ScoredMissing int

	NoiseVar    []float64 // ncsnr: one trial's noise variance sigma_n^2 (nil for split-half)
	SignalVar   []float64 // ncsnr: the signal variance sigma_s^2 (nil for split-half)
	SplitHalfR  []float64 // split-half: Pearson r between half means, mean over splits (nil for ncsnr)
	SNR         []float64 // sigma_s / sigma_n (+Inf without noise)
	Explainable []float64 // fraction of the averaged data's variance a noiseless model explains
	Ceiling     []float64 // sqrt(Explainable): the largest Pearson r against the averaged data

	Constant int // targets constant over all trials (ceiling 0)
	NoNoise  int // targets whose repeats agree exactly (ceiling 1)

	// Averaged holds the stimulus means (stimuli x targets, row-major, the input's precision),
	// when Options.Average was set.
	Averaged engine.Matrix
}

// ErrNoRepeats is returned when too few stimuli were shown more than once for an estimate.
var ErrNoRepeats = errors.New("too few repeated stimuli for a noise ceiling")

// Estimate computes the noise ceiling of each column of trials (trials x targets) whose rows are
// the trials of the stimuli named by ids (one per row; repeats expected). Values must be finite
// (check with engine.Matrix.CheckFinite first: a non-finite value gives NaN here).
func Estimate(ctx context.Context, trials engine.Matrix, ids []string, o Options) (*Result, error) {
	return EstimateParts(ctx, []engine.Matrix{trials}, ids, o)
}

// EstimateParts is Estimate for trials stored as several matrices of the same targets, their
// rows one after another (one file per session, say): ids name the rows of all parts in order.
// The averaged data are float64 when any part is.
func EstimateParts(ctx context.Context, parts []engine.Matrix, ids []string, o Options) (*Result, error) {
	trials, err := newStack(parts)
	if err != nil {
		return nil, err
	}
	if len(ids) != trials.Rows {
		return nil, fmt.Errorf("%d stimulus ids for %d trials", len(ids), trials.Rows)
	}
	if o.Method == "" {
		o.Method = NCSNR
	}
	if _, err := ParseMethod(string(o.Method)); err != nil {
		return nil, err
	}
	if o.Splits == 0 {
		o.Splits = DefaultSplits
	}
	if o.Splits < 0 {
		return nil, fmt.Errorf("split count %d: want at least 1", o.Splits)
	}
	if o.MaxBlockBytes <= 0 {
		o.MaxBlockBytes = 512 << 20
	}
	d := newDesign(ids)
	res := &Result{Method: o.Method, Trials: trials.Rows, Stimuli: d.names, Repeats: d.count, RepeatedStimuli: len(d.repeated)}
	if err := noiseTerm(res, d, o.Scored); err != nil {
		return nil, err
	}
	switch {
	case o.Method == NCSNR && (len(d.repeated) < 1 || len(d.names) < 2):
		return nil, fmt.Errorf("%w: %d trials of %d stimuli, %d shown more than once; the ncsnr method needs at least one repeated stimulus and two stimuli",
			ErrNoRepeats, trials.Rows, len(d.names), len(d.repeated))
	case o.Method == SplitHalf && len(d.repeated) < 3:
		return nil, fmt.Errorf("%w: %d trials of %d stimuli, %d shown more than once; the split-half method needs at least three repeated stimuli",
			ErrNoRepeats, trials.Rows, len(d.names), len(d.repeated))
	}
	var groups *grouping
	if o.Groups != nil {
		g, err := newGrouping(o.Groups, trials.Rows)
		if err != nil {
			return nil, err
		}
		groups, res.Groups = g, len(g.members)
	}
	m := trials.Cols
	res.SNR, res.Explainable, res.Ceiling = make([]float64, m), make([]float64, m), make([]float64, m)
	var halves *splitPlan
	if o.Method == NCSNR {
		res.NoiseVar, res.SignalVar = make([]float64, m), make([]float64, m)
	} else {
		halves = newSplitPlan(d, o.Splits, o.Seed, o.halves)
		res.Splits = len(halves.half)
		res.SplitHalfR = make([]float64, m)
	}
	if o.Average {
		res.Averaged = engine.Matrix{Rows: len(d.names), Cols: m}
		if trials.is64 {
			res.Averaged.F64 = make([]float64, len(d.names)*m)
		} else {
			res.Averaged.F32 = make([]float32, len(d.names)*m)
		}
	}

	workers := max(1, min(runtime.GOMAXPROCS(0), m))
	// per column: the trials, the stimulus means and the split halves' means, in float64
	perCol := 8 * (trials.Rows + len(d.names) + 2*len(d.repeated) + 8)
	width := max(1, min(256, o.MaxBlockBytes/workers/perCol))
	var next atomic.Int64
	var constant, noNoise atomic.Int64
	var progressMu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{d: d, groups: groups, halves: halves, res: res}
			for ctx.Err() == nil {
				c0 := int(next.Add(int64(width))) - width
				if c0 >= m {
					break
				}
				c1 := min(m, c0+width)
				w.block(trials, c0, c1)
				if o.Progress != nil {
					progressMu.Lock()
					done += c1 - c0
					o.Progress(done, m)
					progressMu.Unlock()
				}
			}
			constant.Add(int64(w.constant))
			noNoise.Add(int64(w.noNoise))
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Constant, res.NoNoise = int(constant.Load()), int(noNoise.Load())
	return res, nil
}

// stack is trials stored as matrices of the same columns, one after another.
type stack struct {
	parts      []engine.Matrix
	Rows, Cols int
	is64       bool    // some part is float64
	rowsOf     [][]int // 0..rows-1 of each part, for GatherCols64
}

func newStack(parts []engine.Matrix) (*stack, error) {
	if len(parts) == 0 {
		return nil, errors.New("no trials")
	}
	s := &stack{parts: parts, Cols: parts[0].Cols}
	for k, p := range parts {
		name := "trials"
		if len(parts) > 1 {
			name = fmt.Sprintf("trials part %d", k+1)
		}
		if err := p.Validate(name); err != nil {
			return nil, err
		}
		if p.Cols != s.Cols {
			return nil, fmt.Errorf("%s has %d targets, part 1 %d: the parts must have the same targets", name, p.Cols, s.Cols)
		}
		rows := make([]int, p.Rows)
		for i := range rows {
			rows[i] = i
		}
		s.rowsOf = append(s.rowsOf, rows)
		s.Rows += p.Rows
		s.is64 = s.is64 || p.Is64()
	}
	return s, nil
}

// gather copies columns [c0, c1) of every row into dst (Rows x (c1-c0), row-major float64).
func (s *stack) gather(c0, c1 int, dst []float64) {
	off := 0
	for k, p := range s.parts {
		p.GatherCols64(s.rowsOf[k], c0, c1, dst[off*(c1-c0):])
		off += p.Rows
	}
}

// design is which trials show which stimulus.
type design struct {
	names    []string // stimuli in order of first appearance
	stim     []int    // stimulus of each trial
	count    []int    // trials of each stimulus
	first    []int    // first trial of each stimulus
	repeated []int    // stimuli with two trials or more
	dfNoise  int      // sum over stimuli of n_s - 1
}

func newDesign(ids []string) *design {
	d := &design{}
	d.names, d.stim = firstAppearance(ids)
	d.count, d.first = make([]int, len(d.names)), make([]int, len(d.names))
	for t, s := range d.stim {
		if d.count[s] == 0 {
			d.first[s] = t
		}
		d.count[s]++
	}
	for s, n := range d.count {
		if n >= 2 {
			d.repeated = append(d.repeated, s)
		}
		d.dfNoise += n - 1
	}
	return d
}

// noiseTerm sets res.NoiseTerm, nu: the mean of 1/n_s over all stimuli, or over those of
// scored (each counted once) that were shown.
func noiseTerm(res *Result, d *design, scored []string) error {
	if scored == nil {
		for _, n := range d.count {
			res.NoiseTerm += 1 / float64(n)
		}
		res.ScoredStimuli = len(d.count)
		res.NoiseTerm /= float64(res.ScoredStimuli)
		return nil
	}
	index := make(map[string]int, len(d.names))
	for s, name := range d.names {
		index[name] = s
	}
	seen := map[string]bool{}
	for _, id := range scored {
		if seen[id] {
			continue
		}
		seen[id] = true
		s, ok := index[id]
		if !ok {
			res.ScoredMissing++
			continue
		}
		res.NoiseTerm += 1 / float64(d.count[s])
		res.ScoredStimuli++
	}
	if res.ScoredStimuli == 0 {
		return fmt.Errorf("none of the %d scored stimuli was shown in the trials", len(seen))
	}
	res.NoiseTerm /= float64(res.ScoredStimuli)
	return nil
}

// firstAppearance numbers the distinct keys in order of first appearance: distinct lists them,
// and code[i] is the number of keys[i].
func firstAppearance[K comparable](keys []K) (distinct []K, code []int) {
	code = make([]int, len(keys))
	index := map[K]int{}
	for i, k := range keys {
		c, ok := index[k]
		if !ok {
			c = len(distinct)
			index[k] = c
			distinct = append(distinct, k)
		}
		code[i] = c
	}
	return distinct, code
}

// grouping lists the trials of each z-scoring group.
type grouping struct{ members [][]int }

func newGrouping(groups []int, trials int) (*grouping, error) {
	if len(groups) != trials {
		return nil, fmt.Errorf("%d group labels for %d trials", len(groups), trials)
	}
	labels, code := firstAppearance(groups)
	g := &grouping{members: make([][]int, len(labels))}
	for t, k := range code {
		g.members[k] = append(g.members[k], t)
	}
	return g, nil
}

// splitPlan assigns the trials of each repeated stimulus to half A (0) or B (1), per split.
type splitPlan struct {
	half       [][]int8 // [split][trial]: 0, 1, or -1 for a stimulus shown once
	nuA, nuB   float64  // mean over repeated stimuli of 1/|A|, 1/|B|
	repeatedOf []int    // stimulus -> index among the repeated ones, or -1
	trialsOf   [][]int  // stimulus -> its trials
}

func newSplitPlan(d *design, splits int, seed uint64, given [][]int8) *splitPlan {
	p := &splitPlan{repeatedOf: make([]int, len(d.names)), trialsOf: make([][]int, len(d.names))}
	for s := range p.repeatedOf {
		p.repeatedOf[s] = -1
	}
	for r, s := range d.repeated {
		p.repeatedOf[s] = r
	}
	for t, s := range d.stim {
		p.trialsOf[s] = append(p.trialsOf[s], t)
	}
	if given != nil {
		p.half = given
		splits = 0
	}
	rng := rand.New(rand.NewPCG(seed, 0x6365696c696e67)) // "ceiling"
	for range splits {
		h := make([]int8, len(d.stim))
		for t := range h {
			h[t] = -1
		}
		for _, s := range d.repeated {
			ts := append([]int(nil), p.trialsOf[s]...)
			rng.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
			for i, t := range ts {
				h[t] = int8(min(1, i/(len(ts)/2)))
			}
		}
		p.half = append(p.half, h)
	}
	// every split cuts a stimulus's trials the same way: floor(n/2) in A, the rest in B
	for _, s := range d.repeated {
		a := 0
		for _, t := range p.trialsOf[s] {
			if p.half[0][t] == 0 {
				a++
			}
		}
		p.nuA += 1 / float64(a)
		p.nuB += 1 / float64(d.count[s]-a)
	}
	p.nuA /= float64(len(d.repeated))
	p.nuB /= float64(len(d.repeated))
	return p
}

// worker processes blocks of columns with private buffers.
type worker struct {
	d      *design
	groups *grouping
	halves *splitPlan
	res    *Result

	buf, means, a, b  []float64
	largest           []float64
	constant, noNoise int
}

// block computes the ceiling of columns [c0, c1).
func (w *worker) block(trials *stack, c0, c1 int) {
	d, res := w.d, w.res
	width, T, S := c1-c0, trials.Rows, len(d.names)
	w.buf = grow(w.buf, T*width)
	w.means = grow(w.means, S*width)
	trials.gather(c0, c1, w.buf)
	w.largest = grow(w.largest, width)
	if w.groups != nil {
		// z-scores have no units, but the sums inside zscore do: the columns in range first
		clear(w.largest)
		for t := range T {
			trackLargest(w.largest, w.buf[t*width:(t+1)*width])
		}
		scaleColumns(w.buf, width, w.largest)
		zscore(w.buf, width, w.groups) // z-scores are in range: scaleColumns below leaves them
	}
	// stimulus means, and each column's largest magnitude on the way (a pass of its own cost
	// ncsnr a tenth of its time)
	means := w.means
	clear(w.largest)
	stimulusMeans := func() {
		clear(means)
		for t, s := range d.stim {
			row := w.buf[t*width : (t+1)*width]
			addTo(means[s*width:(s+1)*width], row)
			trackLargest(w.largest, row)
		}
		for s, n := range d.count {
			scale(means[s*width:(s+1)*width], 1/float64(n))
		}
	}
	stimulusMeans()
	// in units of 2^-exps[j], column j's sums of squares neither underflow nor overflow: data in
	// units of 1e-170 (or 1e170) got ceiling 1 or 0 (or NaN), where units of 1 get the true one
	exps, scaled := scaleColumns(w.buf, width, w.largest)
	if len(scaled) > 0 {
		stimulusMeans() // rare: the means again, of the scaled columns
	}
	if res.Averaged.F64 != nil || res.Averaged.F32 != nil {
		m := res.Averaged.Cols
		for s := range S {
			row := means[s*width : (s+1)*width]
			if res.Averaged.F64 != nil {
				out := res.Averaged.F64[s*m+c0 : s*m+c1]
				copy(out, row)
				for _, j := range scaled {
					out[j] = math.Ldexp(row[j], exps[j])
				}
			} else {
				out := res.Averaged.F32[s*m+c0 : s*m+c1]
				for j, v := range row {
					out[j] = float32(v)
				}
				for _, j := range scaled {
					out[j] = float32(math.Ldexp(row[j], exps[j]))
				}
			}
		}
	}
	// total and within-stimulus sums of squares (two passes: means first)
	total, noise, grand := make([]float64, width), make([]float64, width), make([]float64, width)
	for t := range T {
		addTo(grand, w.buf[t*width:(t+1)*width])
	}
	scale(grand, 1/float64(T))
	// whether a stimulus's trials differ, by value: the mean of six trials of 0.1 is not 0.1,
	// so exactly agreeing repeats leave a noise of 1e-34 (snr 1e16, not +Inf)
	noisy := make([]bool, width)
	for t, s := range d.stim {
		row, mu := w.buf[t*width:(t+1)*width], means[s*width:(s+1)*width]
		firstRow := w.buf[d.first[s]*width : (d.first[s]+1)*width]
		for j, v := range row {
			dt, dn := v-grand[j], v-mu[j]
			total[j] += dt * dt
			noise[j] += dn * dn
			noisy[j] = noisy[j] || v != firstRow[j]
		}
	}
	var r []float64
	if w.halves != nil {
		r = w.splitHalf(width)
	}
	constant := constantColumns(w.buf, width)
	for j := range width {
		c := c0 + j
		totalVar := total[j] / float64(T-1)
		if constant[j] {
			w.constant++ // SNR, Explainable and Ceiling stay 0
			if res.NoiseVar != nil {
				res.NoiseVar[c], res.SignalVar[c] = 0, 0
			}
			continue
		}
		var snr2 float64
		if w.halves == nil {
			noiseVar := noise[j] / float64(d.dfNoise)
			if !noisy[j] {
				noiseVar = 0
			}
			signalVar := max(0, totalVar-noiseVar)
			res.NoiseVar[c], res.SignalVar[c] = math.Ldexp(noiseVar, 2*exps[j]), math.Ldexp(signalVar, 2*exps[j])
			snr2 = math.Inf(1)
			if noiseVar > 0 {
				snr2 = signalVar / noiseVar
			}
		} else {
			res.SplitHalfR[c] = r[j]
			snr2 = snrFromSplitHalf(r[j], w.halves.nuA, w.halves.nuB)
			if !noisy[j] {
				res.SplitHalfR[c], snr2 = 1, math.Inf(1)
			}
		}
		if math.IsInf(snr2, 1) {
			w.noNoise++
			res.SNR[c], res.Explainable[c], res.Ceiling[c] = math.Inf(1), 1, 1
			continue
		}
		ex := snr2 / (snr2 + res.NoiseTerm)
		res.SNR[c], res.Explainable[c], res.Ceiling[c] = math.Sqrt(snr2), ex, math.Sqrt(ex)
	}
}

// trackLargest raises largest[j] to |row[j]| where that is larger (NaN is left to the callers'
// checks).
func trackLargest(largest, row []float64) {
	for j, v := range row {
		if a := math.Abs(v); a > largest[j] {
			largest[j] = a
		}
	}
}

// scaleColumns scales each column of the row-major block whose largest magnitude is outside
// [2^-400, 2^400] by a power of two, exactly (bar values 2^1022 times smaller than the column's
// largest), so that its largest magnitude lies in [0.5, 1), and returns the exponents (the
// column was 2^exps[j] times what it is now; 0: left as it was) and the columns scaled. Inside
// that range, every deviation above the values' rounding (2^-53 of the largest) has a square
// above 2^-908 and none a square above 2^800, so the sums of squares neither underflow nor
// overflow; leaving those columns alone keeps the common case free of passes over the block.
func scaleColumns(buf []float64, width int, largest []float64) (exps []int, scaled []int) {
	exps = make([]int, width)
	for j, v := range largest {
		if _, e := math.Frexp(v); e < -400 || e > 400 { // 0 for 0
			exps[j] = e
			scaled = append(scaled, j)
		}
	}
	for t := 0; len(scaled) > 0 && t < len(buf); t += width {
		row := buf[t : t+width]
		for _, j := range scaled {
			row[j] = math.Ldexp(row[j], -exps[j])
		}
	}
	return exps, scaled
}

// constantColumns reports which columns of the row-major block hold one value only.
func constantColumns(buf []float64, width int) []bool {
	same := make([]bool, width)
	for j := range same {
		same[j] = true
	}
	first := buf[:width]
	for t := width; t < len(buf); t += width {
		for j, v := range buf[t : t+width] {
			if v != first[j] {
				same[j] = false
			}
		}
	}
	return same
}

// splitHalf returns, for each column of the block in w.buf, Pearson's r between the two halves'
// stimulus means over the repeated stimuli, averaged over the splits.
func (w *worker) splitHalf(width int) []float64 {
	p, d := w.halves, w.d
	R := len(d.repeated)
	w.a, w.b = grow(w.a, R*width), grow(w.b, R*width)
	r := make([]float64, width)
	for _, half := range p.half {
		clear(w.a)
		clear(w.b)
		for _, s := range d.repeated {
			i := p.repeatedOf[s]
			var na int
			for _, t := range p.trialsOf[s] {
				row := w.buf[t*width : (t+1)*width]
				if half[t] == 0 {
					addTo(w.a[i*width:(i+1)*width], row)
					na++
				} else {
					addTo(w.b[i*width:(i+1)*width], row)
				}
			}
			scale(w.a[i*width:(i+1)*width], 1/float64(na))
			scale(w.b[i*width:(i+1)*width], 1/float64(d.count[s]-na))
		}
		for j := range width {
			r[j] += pearsonStrided(w.a, w.b, j, width, R)
		}
	}
	scale(r, 1/float64(len(p.half)))
	return r
}

// pearsonStrided is Pearson's r of column j of two R x width row-major matrices; 0 when either
// column is constant.
func pearsonStrided(a, b []float64, j, width, R int) float64 {
	var ma, mb float64
	for i := range R {
		ma += a[i*width+j]
		mb += b[i*width+j]
	}
	ma /= float64(R)
	mb /= float64(R)
	var sab, saa, sbb float64
	for i := range R {
		x, y := a[i*width+j]-ma, b[i*width+j]-mb
		sab += x * y
		saa += x * x
		sbb += y * y
	}
	if saa == 0 || sbb == 0 {
		return 0
	}
	return max(-1, min(1, sab/math.Sqrt(saa*sbb)))
}

// snrFromSplitHalf solves r = S / sqrt((S + nuA)(S + nuB)) for S = snr^2 >= 0: the positive
// root of (1 - r^2) S^2 - r^2 (nuA + nuB) S - r^2 nuA nuB = 0; 0 for r <= 0, +Inf for r >= 1.
func snrFromSplitHalf(r, nuA, nuB float64) float64 {
	switch {
	case !(r > 0):
		return 0
	case r >= 1:
		return math.Inf(1)
	}
	r2 := r * r
	a, b, c := (1-r)*(1+r), r2*(nuA+nuB), r2*nuA*nuB
	return (b + math.Sqrt(b*b+4*a*c)) / (2 * a)
}

// zscore standardises each column of the T x width block within each group (population
// standard deviation, as scipy.stats.zscore); a column constant within a group becomes 0 there.
func zscore(buf []float64, width int, g *grouping) {
	mean, sd := make([]float64, width), make([]float64, width)
	varies := make([]bool, width)
	for _, ts := range g.members {
		clear(mean)
		clear(sd)
		clear(varies)
		first := buf[ts[0]*width : (ts[0]+1)*width]
		for _, t := range ts {
			row := buf[t*width : (t+1)*width]
			addTo(mean, row)
			for j, v := range row {
				varies[j] = varies[j] || v != first[j]
			}
		}
		scale(mean, 1/float64(len(ts)))
		for _, t := range ts {
			for j, v := range buf[t*width : (t+1)*width] {
				dv := v - mean[j]
				sd[j] += dv * dv
			}
		}
		for j := range sd {
			sd[j] = math.Sqrt(sd[j] / float64(len(ts)))
			if varies[j] && sd[j] < 0x1p-400 {
				// a group whose spread is far below the column's largest (scaleColumns put
				// that within 2^+-400): its squares may have underflowed
				sd[j] = sdInUnits(buf, width, ts, j, mean[j])
			}
		}
		for _, t := range ts {
			row := buf[t*width : (t+1)*width]
			for j := range row {
				// a constant column's mean is off its value by rounding (six trials of 0.1
				// average 0.09999999999999999), so its sd is tiny but not 0: tested by value
				if varies[j] && sd[j] > 0 {
					row[j] = (row[j] - mean[j]) / sd[j]
				} else {
					row[j] = 0
				}
			}
		}
	}
}

// sdInUnits is the standard deviation of column j over the trials ts about mean, its deviations
// taken in units of a power of two about their largest (exactly), so that their squares neither
// underflow nor overflow.
func sdInUnits(buf []float64, width int, ts []int, j int, mean float64) float64 {
	var spread float64
	for _, t := range ts {
		spread = max(spread, math.Abs(buf[t*width+j]-mean))
	}
	_, unit := math.Frexp(spread)
	var sum float64
	for _, t := range ts {
		dv := math.Ldexp(buf[t*width+j]-mean, -unit)
		sum += dv * dv
	}
	return math.Ldexp(math.Sqrt(sum/float64(len(ts))), unit)
}

func addTo(dst, src []float64) {
	for j, v := range src {
		dst[j] += v
	}
}

func scale(x []float64, f float64) {
	for j := range x {
		x[j] *= f
	}
}

func grow(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	return b[:n]
}

// Divide returns scores divided by the ceiling of their targets (Brain-Score's "ceiled" score),
// NaN where the ceiling is below floor (a noise-only target, whose ratio would be noise over a
// tiny number) and the number of such targets. The ratio is not clipped: a target's score may
// exceed a ceiling that is itself estimated.
func Divide(scores, ceil []float64, floor float64) (ceiled []float64, below int) {
	ceiled = make([]float64, len(scores))
	for j, s := range scores {
		if !(ceil[j] >= floor) || ceil[j] == 0 {
			ceiled[j] = math.NaN()
			below++
			continue
		}
		ceiled[j] = s / ceil[j]
	}
	return ceiled, below
}
