//go:build cuda

package cuda

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"gorgonia.org/cu"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/fallback"
)

// scaledProblem is problem's with features of unlike scales and offsets (what --standardize
// changes): feature k multiplied by 10^(k%5-2) and offset by 50 k. (Fits without an intercept
// take scaledProblem0's: offsets as large as those, which nothing centres, leave the products
// too ill-conditioned for two engines' roundings to agree to 1e-9: the CPU engine's own scores
// move by 1e-8 to 1e-4 when the features move by 1e-16.)
func scaledProblem(n, d, m int, seed uint64) (x, y engine.Matrix) {
	return scaled(n, d, m, seed, 50)
}

// scaledProblem0 is scaledProblem without the offsets.
func scaledProblem0(n, d, m int, seed uint64) (x, y engine.Matrix) {
	return scaled(n, d, m, seed, 0)
}

func scaled(n, d, m int, seed uint64, offset float64) (x, y engine.Matrix) {
	x, y = problem(n, d, m, seed)
	for i := 0; i < n; i++ {
		for k := 0; k < d; k++ {
			x.F64[i*d+k] = x.F64[i*d+k]*math.Pow(10, float64(k%5-2)) + offset*float64(k)
		}
	}
	return x, y
}

// crossData is scaledProblem's data, or without an intercept scaledProblem0's (standardised)
// or problem's (not: features of scales from 0.01 to 100, uncentred, make the products too
// ill-conditioned again, by 1e-9 of the weights).
func crossData(n, d, m int, seed uint64, noint, std bool) (x, y engine.Matrix) {
	switch {
	case !noint:
		return scaledProblem(n, d, m, seed)
	case std:
		return scaledProblem0(n, d, m, seed)
	}
	return problem(n, d, m, seed)
}

// crossOptions are the options of one combination of the changes that cross (standardised
// features, no intercept, the inner mode), float64.
func crossOptions(t *testing.T, n int, std, noint bool, inner engine.Inner) engine.Options {
	opts := options(t, n, func(o *engine.Options) {
		o.Precision, o.Standardize, o.NoIntercept, o.Inner = engine.Float64, std, noint, inner
	})
	if err := opts.Validate(n); err != nil {
		t.Fatal(err)
	}
	return opts
}

// exact checks float64 results against the CPU engine's: fold scores within 1e-9, identical
// penalties, degenerate counts and ranks.
func exact(t *testing.T, what string, got, want *engine.Result) {
	t.Helper()
	compare(t, what, got, want, 1e-9, 1)
	for k := range want.FoldScores {
		if math.IsNaN(got.FoldScores[k]) != math.IsNaN(want.FoldScores[k]) {
			t.Fatalf("%s: fold score %d is %v, cpu %v", what, k, got.FoldScores[k], want.FoldScores[k])
		}
	}
}

// crossVariant is a feature block and the layouts of the activations and the brain data.
type crossVariant struct {
	name  string
	block int
	x, y  func(engine.Matrix) engine.Matrix
}

// crossVariants are the feature blocks (whole, 5, 1, one feature fewer than d) and layouts
// (float64, float32 and column-major activations; column-major and float32 brain data) the
// crossed tests run, for d features.
func crossVariants(d int) []crossVariant {
	same := func(x engine.Matrix) engine.Matrix { return x }
	return []crossVariant{
		{"block4096", 4096, same, same},
		{"block5", 5, same, same},
		{"block5/x32", 5, to32, same},
		{"block5/xcol", 5, colMajor, same},
		{"block1/x32/ycol", 1, to32, colMajor},
		{fmt.Sprintf("block%d/y32", d-1), d - 1, same, to32},
	}
}

var crossInners = []engine.Inner{{Mode: engine.LOO}, {Mode: engine.GCV}, kfold(3, engine.R2), kfold(3, engine.Pearson)}

// scoreOpened scores x on a session of y opened with opts, whose brain data must be streamed
// or resident as streamed says.
func scoreOpened(t *testing.T, e *Engine, x, y engine.Matrix, opts engine.Options, streamed bool) *engine.Result {
	t.Helper()
	s, err := e.Open(y, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.(*session).Resident() == streamed {
		t.Fatalf("resident %v", s.(*session).Resident())
	}
	got, err := s.Score(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestCrossedScore: every combination of standardised features, no intercept, the inner modes,
// resident and streamed brain data and feature blocks of 5 (many blocks, a ragged last one) in
// both decompositions gives the CPU engine's fold scores (1e-9) and penalties (all) in float64.
func TestCrossedScore(t *testing.T) {
	e := newTestEngine(t)
	for _, sh := range []struct {
		name    string
		n, d, m int
	}{{"dual", 40, 57, 300}, {"primal", 80, 12, 300}} {
		for _, v := range crossVariants(sh.d) {
			for _, std := range []bool{false, true} {
				for _, noint := range []bool{false, true} {
					for _, inner := range crossInners {
						for _, streamed := range []bool{false, true} {
							name := fmt.Sprintf("%s/%s/std%v/noint%v/%s/streamed%v", sh.name, v.name, std, noint, inner, streamed)
							t.Run(name, func(t *testing.T) {
								defer func(b int) { featureBlock = b }(featureBlock)
								featureBlock = v.block
								x, y := crossData(sh.n, sh.d, sh.m, 21, noint, std)
								x, y = v.x(x), v.y(y)
								opts := crossOptions(t, sh.n, std, noint, inner)
								want := score(t, fallback.New(), x, y, opts)
								if streamed {
									opts.MemoryLimit = int64(sh.n*sh.m*8) * 3 / 2
									opts.MaxBatch = 64
								}
								exact(t, name, scoreOpened(t, e, x, y, opts, streamed), want)
							})
						}
					}
				}
			}
		}
	}
}

// TestCrossedPredict: Predict with the fitted model in the same combinations (no inner K-fold
// beyond R²), against the CPU engine's predictions, weights and intercepts within 1e-9 of each
// target's scale, identical penalties.
func TestCrossedPredict(t *testing.T) {
	e := newTestEngine(t)
	for _, sh := range []struct {
		name          string
		n, nNew, d, m int
	}{{"dual", 40, 9, 57, 1000}, {"primal", 80, 9, 12, 1000}} {
		for _, v := range crossVariants(sh.d) {
			for _, std := range []bool{false, true} {
				for _, noint := range []bool{false, true} {
					for _, inner := range crossInners[:3] {
						for _, streamed := range []bool{false, true} {
							name := fmt.Sprintf("%s/%s/std%v/noint%v/%s/streamed%v", sh.name, v.name, std, noint, inner, streamed)
							t.Run(name, func(t *testing.T) {
								defer func(b int) { featureBlock = b }(featureBlock)
								featureBlock = v.block
								xAll, yAll := crossData(sh.n+sh.nNew, sh.d, sh.m, 23, noint, std)
								x := v.x(engine.NewMatrix64(sh.n, sh.d, xAll.F64[:sh.n*sh.d]))
								xNew := v.x(engine.NewMatrix64(sh.nNew, sh.d, xAll.F64[sh.n*sh.d:]))
								y := v.y(engine.NewMatrix64(sh.n, sh.m, yAll.F64[:sh.n*sh.m]))
								opts := engine.Options{Alphas: engine.DefaultAlphas(), Precision: engine.Float64, Weights: true,
									Standardize: std, NoIntercept: noint, Inner: inner}
								want, err := fallback.New().Predict(context.Background(), x, y, xNew, opts)
								if err != nil {
									t.Fatal(err)
								}
								if streamed {
									opts.MemoryLimit = streamedLimit(y, engine.Float64)
									opts.MaxBatch = 64
								}
								got, err := e.Predict(context.Background(), x, y, xNew, opts)
								if err != nil {
									t.Fatal(err)
								}
								if streamed && got.Batches < 2 {
									t.Errorf("streamed in %d batches", got.Batches)
								}
								comparePredictionExact(t, got, want, x, y, !noint)
							})
						}
					}
				}
			}
		}
	}
}

// comparePredictionExact checks Predict's output against the CPU engine's at float64: the same
// penalties and rank, values within 1e-9 of each target's scale, weights within 1e-9 of the
// target's largest and intercepts within 1e-9 of its scale plus the weights' reach (compareModel).
func comparePredictionExact(t *testing.T, got, want *engine.Prediction, x, y engine.Matrix, centred bool) {
	t.Helper()
	if got.Rank != want.Rank || got.Dropped != want.Dropped {
		t.Errorf("rank %d (dropped %d), cpu %d (%d)", got.Rank, got.Dropped, want.Rank, want.Dropped)
	}
	sd := targetScale(y, centred)
	worst := 0.0
	for j := 0; j < got.Targets; j++ {
		if got.Alphas[j] != want.Alphas[j] {
			t.Fatalf("target %d: penalty %g, cpu %g", j, got.Alphas[j], want.Alphas[j])
		}
		for i := 0; i < got.Rows; i++ {
			g, w := got.Values.At(i, j), want.Values.At(i, j)
			e := math.Abs(g-w) / max(sd[j], 1e-300)
			if math.IsNaN(e) {
				e = math.Inf(1)
			}
			worst = max(worst, e)
		}
	}
	t.Logf("predictions within %.3g of a target's sd", worst)
	if worst > 1e-9 {
		t.Errorf("predictions differ from the cpu engine's by %.3g of a target's sd", worst)
	}
	if want.Weights.Rows > 0 {
		compareModel(t, got, want, x, sd, 1e-9)
	}
}

// TestCrossedLookahead: a sequence of matrices scored in one session, each announced
// (engine.Preparer) during the Score before it, standardised, with feature blocks of 5, in every
// inner mode, resident and streamed: each gives the CPU engine's numbers, and the work ahead was
// used.
func TestCrossedLookahead(t *testing.T) {
	e := newTestEngine(t)
	n, m := 40, 1000
	for _, std := range []bool{false, true} {
		for _, noint := range []bool{false, true} {
			for _, inner := range crossInners {
				for _, streamed := range []bool{false, true} {
					name := fmt.Sprintf("std%v/noint%v/%s/streamed%v", std, noint, inner, streamed)
					t.Run(name, func(t *testing.T) {
						defer func(b int) { featureBlock = b }(featureBlock)
						featureBlock = 5
						x1, y := crossData(n, 57, m, 31, noint, std)
						x2, _ := crossData(n, 23, m, 32, noint, std)
						x3, _ := crossData(n, 11, m, 33, noint, std) // more rows than features: the primal decomposition
						xs := []engine.Matrix{x1, x2, x3, x1}
						opts := crossOptions(t, n, std, noint, inner)
						var want []*engine.Result
						for _, x := range xs {
							want = append(want, score(t, fallback.New(), x, y, opts))
						}
						if streamed {
							opts.MemoryLimit = int64(n*m*8) * 3 / 2
							opts.MaxBatch = 64
						}
						s, err := e.Open(y, opts)
						if err != nil {
							t.Fatal(err)
						}
						defer s.Close()
						ss := s.(*session)
						for i, x := range xs {
							if i+1 < len(xs) {
								ss.Prepare(xs[i+1])
							}
							got, err := s.Score(context.Background(), x)
							if err != nil {
								t.Fatal(err)
							}
							exact(t, fmt.Sprintf("%s matrix %d", name, i), got, want[i])
						}
						if ss.lookaheads != len(xs)-1 {
							t.Errorf("%d Scores started from work done ahead, want %d", ss.lookaheads, len(xs)-1)
						}
					})
				}
			}
		}
	}
}

// TestCrossedOOM: out-of-memory retries (batch allocations failing, a library failing mid-fold,
// the resident brain data given up) with standardised features in feature blocks of 5, every
// inner mode, Score and Predict with weights: the numbers of the run without failures.
func TestCrossedOOM(t *testing.T) {
	e := newTestEngine(t)
	n, d, m := 40, 57, 300
	for _, inner := range crossInners {
		for _, noint := range []bool{false, true} {
			for _, fail := range []string{"allocs", "stage", "stage_twice", "stage_resident"} {
				name := fmt.Sprintf("%s/noint%v/%s", inner, noint, fail)
				t.Run(name, func(t *testing.T) {
					defer func(b int) { featureBlock = b }(featureBlock)
					featureBlock = 5
					xAll, yAll := crossData(n+7, d, m, 41, noint, true)
					x := engine.NewMatrix64(n, d, xAll.F64[:n*d])
					xNew := engine.NewMatrix64(7, d, xAll.F64[n*d:])
					y := engine.NewMatrix64(n, m, yAll.F64[:n*m])
					opts := crossOptions(t, n, true, noint, inner)
					want := score(t, fallback.New(), x, y, opts)
					opts.MaxBatch = 64
					inject := func(ss *session) {
						switch fail {
						case "allocs":
							ss.failAllocs = 2
						case "stage":
							ss.failStage = 3
						case "stage_twice":
							ss.failStage, ss.failRepeat = 2, 1
						case "stage_resident": // batches of one target: the residency is given up
							ss.failStage, ss.failRepeat = 3, 1
						}
					}
					sopts := opts
					if fail == "stage_resident" {
						sopts.MaxBatch = 1
					}
					s, err := e.Open(y, sopts)
					if err != nil {
						t.Fatal(err)
					}
					defer s.Close()
					inject(s.(*session))
					got, err := s.Score(context.Background(), x)
					if err != nil {
						t.Fatal(err)
					}
					exact(t, name, got, want)

					popts := engine.Options{Alphas: opts.Alphas, Precision: engine.Float64, Weights: true,
						Standardize: true, NoIntercept: noint, Inner: inner, MaxBatch: sopts.MaxBatch}
					pwant, err := fallback.New().Predict(context.Background(), x, y, xNew, popts)
					if err != nil {
						t.Fatal(err)
					}
					e.predictHook = func(ss *session) {
						inject(ss)
						if fail == "stage_resident" {
							// one fold, none after it to give up: the first failure gives up
							// the residency, a second would end the Predict
							ss.failRepeat = 0
						}
					}
					defer func() { e.predictHook = nil }()
					pgot, err := e.Predict(context.Background(), x, y, xNew, popts)
					if err != nil {
						t.Fatal(err)
					}
					comparePredictionExact(t, pgot, pwant, x, y, !noint)
				})
			}
		}
	}
}

// TestCrossedMemoryLimits: under memory limits from roomy to too small, standardised features
// in blocks of 5, the next fold's factorisation and the next matrix's held beside the batches,
// every Score that completes has the CPU engine's numbers and the first that does not fails with
// ErrOutOfMemory, leaving nothing on the device.
func TestCrossedMemoryLimits(t *testing.T) {
	e := newTestEngine(t)
	n, m := 40, 200
	x, y := scaledProblem(n, 57, m, 51)
	x2, _ := scaledProblem(n, 30, m, 52)
	for _, inner := range crossInners[:3] {
		t.Run(inner.String(), func(t *testing.T) {
			defer func(b int) { featureBlock = b }(featureBlock)
			featureBlock = 5
			opts := crossOptions(t, n, true, false, inner)
			want := score(t, fallback.New(), x, y, opts)
			want2 := score(t, fallback.New(), x2, y, opts)
			// try scores x then x2 (announced during x's Score) under limit: nil when both
			// complete with the CPU engine's numbers, else ErrOutOfMemory's error
			try := func(limit int64) error {
				o := opts
				o.MemoryLimit = limit
				s, err := e.Open(y, o)
				if err != nil {
					t.Fatal(err)
				}
				s.(*session).Prepare(x2)
				got, err := s.Score(context.Background(), x)
				var got2 *engine.Result
				if err == nil {
					got2, err = s.Score(context.Background(), x2)
				}
				s.Close()
				onDevice(t, e, func(d *device) error {
					if d.used != 0 {
						t.Errorf("limit %d: %d bytes on the device after the session closed", limit, d.used)
					}
					return nil
				})
				if err != nil {
					if !errors.Is(err, engine.ErrOutOfMemory) {
						t.Fatalf("limit %d: %v", limit, err)
					}
					return err
				}
				exact(t, fmt.Sprintf("limit %d", limit), got, want)
				exact(t, fmt.Sprintf("limit %d, next matrix", limit), got2, want2)
				return nil
			}
			completed, first := 0, int64(0)
			step := int64(4 << 10)
			if testing.Short() {
				step = 32 << 10
			}
			for limit := int64(1 << 20); limit > 0; limit -= step {
				if err := try(limit); err != nil {
					t.Logf("%d limits completed; at %d: %v", completed, limit, err)
					first = limit
					break
				}
				completed++
			}
			if completed < 10 {
				t.Errorf("only %d limits completed", completed)
			}
			// Near the smallest limit that completes, in steps of 256 bytes: a limit above one
			// that completes completes too.
			var failedAt int64
			for limit := first + step; limit > first-16<<10 && limit > 0; limit -= 256 {
				err := try(limit)
				if err != nil && failedAt == 0 {
					failedAt = limit
				}
				if err == nil && failedAt != 0 {
					t.Errorf("limit %d completes, but %d did not", limit, failedAt)
					break
				}
			}
		})
	}
}

// TestCrossedCancel: a Score cancelled in the middle of a fold (from Progress) stops with the
// context's error, leaves the device as before it, and the session's next Score has the CPU
// engine's numbers; standardised, streamed and resident, with the next matrix announced.
func TestCrossedCancel(t *testing.T) {
	e := newTestEngine(t)
	n, m := 40, 300
	x, y := scaledProblem(n, 57, m, 61)
	x2, _ := scaledProblem(n, 20, m, 62)
	for _, streamed := range []bool{false, true} {
		for _, inner := range crossInners {
			for _, at := range []int{1, 6, 13} {
				name := fmt.Sprintf("streamed%v/%s/at%d", streamed, inner, at)
				t.Run(name, func(t *testing.T) {
					defer func(b int) { featureBlock = b }(featureBlock)
					featureBlock = 5
					opts := crossOptions(t, n, true, false, inner)
					want := score(t, fallback.New(), x, y, opts)
					want2 := score(t, fallback.New(), x2, y, opts)
					opts.MaxBatch = 64
					if streamed {
						opts.MemoryLimit = int64(n*m*8) * 3 / 2
					}
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					opts.Progress = func(done, total int) {
						if done == at {
							cancel()
						}
					}
					s, err := e.Open(y, opts)
					if err != nil {
						t.Fatal(err)
					}
					defer s.Close()
					ss := s.(*session)
					var held int64
					onDevice(t, e, func(d *device) error { held = d.used; return nil })
					ss.Prepare(x2)
					if _, err := s.Score(ctx, x); !errors.Is(err, context.Canceled) {
						t.Fatalf("cancelled after %d batches: %v", at, err)
					}
					onDevice(t, e, func(d *device) error {
						if d.used != held {
							t.Errorf("%d bytes on the device after the cancelled Score, %d before", d.used, held)
						}
						return nil
					})
					got, err := s.Score(context.Background(), x)
					if err != nil {
						t.Fatal(err)
					}
					exact(t, name, got, want)
					ss.Prepare(x2)
					got2, err := s.Score(context.Background(), x)
					if err != nil {
						t.Fatal(err)
					}
					exact(t, name+" again", got2, want)
					got3, err := s.Score(context.Background(), x2)
					if err != nil {
						t.Fatal(err)
					}
					exact(t, name+" next", got3, want2)
				})
			}
		}
	}
}

// TestCrossedTF32: TF32 and float32 in the same combinations (standardised, no intercept,
// feature blocks, streamed, Predict with weights) give finite results within TF32's tolerance
// of float64's.
func TestCrossedTF32(t *testing.T) {
	e := newTestEngine(t)
	for _, sh := range []struct {
		name    string
		n, d, m int
	}{{"dual", 60, 150, 2000}, {"primal", 200, 16, 2000}} {
		for _, std := range []bool{false, true} {
			for _, noint := range []bool{false, true} {
				for _, streamed := range []bool{false, true} {
					for _, prec := range []engine.Precision{engine.TF32, engine.Float32} {
						name := fmt.Sprintf("%s/std%v/noint%v/streamed%v/%s", sh.name, std, noint, streamed, prec)
						t.Run(name, func(t *testing.T) {
							defer func(b int) { featureBlock = b }(featureBlock)
							featureBlock = 7
							x, y := crossData(sh.n, sh.d, sh.m, 71, noint, std)
							opts := crossOptions(t, sh.n, std, noint, engine.Inner{Mode: engine.LOO})
							want := score(t, fallback.New(), x, y, opts)
							opts.Precision = prec
							if streamed {
								opts.MemoryLimit = int64(sh.n*sh.m*4) * 3 / 2
								opts.MaxBatch = 64
							}
							s, err := e.Open(y, opts)
							if err != nil {
								t.Fatal(err)
							}
							defer s.Close()
							got, err := s.Score(context.Background(), x)
							if err != nil {
								t.Fatal(err)
							}
							for k, v := range got.FoldScores {
								if math.IsNaN(v) && !math.IsNaN(want.FoldScores[k]) {
									t.Fatalf("fold score %d NaN", k)
								}
							}
							compareTF32(t, name, got, want)

							// Predict with weights, new stimuli the last 9 rows
							nfit := sh.n - 9
							xf := engine.NewMatrix64(nfit, sh.d, x.F64[:nfit*sh.d])
							xNew := engine.NewMatrix64(9, sh.d, x.F64[nfit*sh.d:])
							yf := engine.NewMatrix64(nfit, sh.m, y.F64[:nfit*sh.m])
							popts := engine.Options{Alphas: opts.Alphas, Precision: engine.Float64, Weights: true, Standardize: std, NoIntercept: noint}
							pwant, err := fallback.New().Predict(context.Background(), xf, yf, xNew, popts)
							if err != nil {
								t.Fatal(err)
							}
							popts.Precision = prec
							if streamed {
								popts.MemoryLimit, popts.MaxBatch = streamedLimit(yf, prec), 64
							}
							pgot, err := e.Predict(context.Background(), xf, yf, xNew, popts)
							if err != nil {
								t.Fatal(err)
							}
							sd := targetScale(yf, !noint)
							same, worst := 0, 0.0
							for j := 0; j < sh.m; j++ {
								if pgot.Alphas[j] != pwant.Alphas[j] {
									continue
								}
								same++
								for i := 0; i < 9; i++ {
									e := math.Abs(pgot.Values.At(i, j)-pwant.Values.At(i, j)) / max(sd[j], 1e-300)
									if math.IsNaN(e) {
										e = math.Inf(1)
									}
									worst = max(worst, e)
								}
							}
							if worst > 1e-2 || float64(same) < 0.8*float64(sh.m) {
								t.Errorf("TF32 Predict: predictions within %.3g of a target's sd, %d of %d penalties the cpu's", worst, same, sh.m)
							}
							compareModel(t, pgot, pwant, xf, sd, 1e-2)
						})
					}
				}
			}
		}
	}
}

// TestCrossedSharedKept: one penalty for all targets and the held-out predictions kept
// (KeepPredictions), standardised, in feature blocks of 5, resident and streamed in several
// batches, every inner mode: the CPU engine's fold scores, penalties and predictions.
func TestCrossedSharedKept(t *testing.T) {
	e := newTestEngine(t)
	n, m := 40, 1000
	for _, sh := range []struct {
		name string
		d    int
	}{{"dual", 57}, {"primal", 12}} {
		for _, shared := range []bool{false, true} {
			for _, inner := range crossInners {
				for _, streamed := range []bool{false, true} {
					name := fmt.Sprintf("%s/shared%v/%s/streamed%v", sh.name, shared, inner, streamed)
					t.Run(name, func(t *testing.T) {
						defer func(b int) { featureBlock = b }(featureBlock)
						featureBlock = 5
						x, y := crossData(n, sh.d, m, 81, false, true)
						opts := crossOptions(t, n, true, false, inner)
						opts.SharedAlpha, opts.KeepPredictions = shared, true
						want := score(t, fallback.New(), x, y, opts)
						opts.MaxBatch = 96
						if streamed {
							opts.MemoryLimit = int64(n*m*8) * 3 / 2
						}
						got := scoreOpened(t, e, x, y, opts, streamed)
						exact(t, name, got, want)
						sd := targetScale(y, true)
						worst := 0.0
						for i := 0; i < n; i++ {
							for j := 0; j < m; j++ {
								g, w := got.Predictions.At(i, j), want.Predictions.At(i, j)
								e := math.Abs(g-w) / max(sd[j], 1e-300)
								if math.IsNaN(g) != math.IsNaN(w) {
									e = math.Inf(1)
								}
								if !math.IsNaN(e) {
									worst = max(worst, e)
								}
							}
						}
						if worst > 1e-9 {
							t.Errorf("held-out predictions differ from the cpu engine's by %.3g of a target's sd", worst)
						}
					})
				}
			}
		}
	}
}

// TestCrossedDeviceMemory: on a device with little free memory (a ballast allocation the
// engine does not know of takes the rest, as another process's would), no memory limit set:
// from roomy to too small, every Score of a session (standardised features in blocks of 5, the
// next matrix announced, the brain data placed as Open decides) and every Predict with weights
// that completes has the CPU engine's numbers, and the others fail with ErrOutOfMemory; the
// device is left as it was.
func TestCrossedDeviceMemory(t *testing.T) {
	e := newTestEngine(t)
	onSimulator(t, e)
	n, m := 40, 1000
	xAll, yAll := scaledProblem(n+7, 57, m, 91)
	x := engine.NewMatrix64(n, 57, xAll.F64[:n*57])
	xNew := engine.NewMatrix64(7, 57, xAll.F64[n*57:])
	y := engine.NewMatrix64(n, m, yAll.F64[:n*m])
	x2, _ := scaledProblem(n, 30, m, 92)
	defer func(b int) { featureBlock = b }(featureBlock)
	featureBlock = 5
	opts := crossOptions(t, n, true, false, engine.Inner{Mode: engine.LOO})
	want := score(t, fallback.New(), x, y, opts)
	want2 := score(t, fallback.New(), x2, y, opts)
	popts := engine.Options{Alphas: opts.Alphas, Precision: engine.Float64, Weights: true, Standardize: true}
	pwant, err := fallback.New().Predict(context.Background(), x, y, xNew, popts)
	if err != nil {
		t.Fatal(err)
	}
	completed, failed, pcompleted := 0, 0, 0
	step := int64(16 << 10)
	if testing.Short() {
		step = 48 << 10
	}
	for free := int64(1 << 20); free > 16<<10; free -= step {
		var ballast cu.DevicePtr
		onDevice(t, e, func(d *device) error {
			var err error
			ballast, err = cu.MemAlloc(d.freeMem() - free)
			return err
		})
		func() {
			defer onDevice(t, e, func(d *device) error { cu.MemFree(ballast); return nil })
			s, err := e.Open(y, opts)
			if err != nil {
				t.Fatalf("free %d: %v", free, err)
			}
			s.(*session).Prepare(x2)
			got, err := s.Score(context.Background(), x)
			var got2 *engine.Result
			if err == nil {
				got2, err = s.Score(context.Background(), x2)
			}
			s.Close()
			switch {
			case err == nil:
				completed++
				exact(t, fmt.Sprintf("free %d", free), got, want)
				exact(t, fmt.Sprintf("free %d, next matrix", free), got2, want2)
			case errors.Is(err, engine.ErrOutOfMemory):
				failed++
				if failed == 1 {
					t.Logf("free %d: %v", free, err)
				}
			default:
				t.Fatalf("free %d: %v", free, err)
			}
			pgot, err := e.Predict(context.Background(), x, y, xNew, popts)
			switch {
			case err == nil:
				pcompleted++
				comparePredictionExact(t, pgot, pwant, x, y, true)
			case !errors.Is(err, engine.ErrOutOfMemory):
				t.Fatalf("free %d: Predict: %v", free, err)
			}
			onDevice(t, e, func(d *device) error {
				if d.used != 0 {
					t.Errorf("free %d: %d bytes on the device after the session closed", free, d.used)
				}
				return nil
			})
		}()
	}
	t.Logf("%d Scores completed, %d out of memory; %d Predicts completed", completed, failed, pcompleted)
	if completed < 5 || failed == 0 || pcompleted < 5 {
		t.Errorf("%d Scores completed and %d out of memory, %d Predicts completed: the sweep missed its range", completed, failed, pcompleted)
	}
}

// TestCrossedPredictMemory: Predict with the fitted model, standardised features in feature
// blocks of 64 (V formed a block at a time), over memory limits: every limit fails with
// ErrOutOfMemory or gives the CPU engine's model, and once one suffices every larger one does.
func TestCrossedPredictMemory(t *testing.T) {
	e := newTestEngine(t)
	n, nNew, d, m := 100, 30, 500, 2500
	xAll, yAll := scaledProblem(n+nNew, d, m, 93)
	x := engine.NewMatrix64(n, d, xAll.F64[:n*d])
	xNew := engine.NewMatrix64(nNew, d, xAll.F64[n*d:])
	y := engine.NewMatrix64(n, m, yAll.F64[:n*m])
	defer func(b int) { featureBlock = b }(featureBlock)
	featureBlock = 64
	opts := engine.Options{Alphas: engine.DefaultAlphas(), Precision: engine.Float64, Weights: true, Standardize: true}
	want, err := fallback.New().Predict(context.Background(), x, y, xNew, opts)
	if err != nil {
		t.Fatal(err)
	}
	var opened *session
	residentAtOpen := false
	e.predictHook = func(s *session) { opened, residentAtOpen = s, s.Resident() }
	defer func() { e.predictHook = nil }()
	errs := map[int64]error{}
	tried := sweepLimits(256<<10, 6<<20, 256<<10, 32<<10, func(limit int64) string {
		o := opts
		o.MemoryLimit = limit
		got, err := e.Predict(context.Background(), x, y, xNew, o)
		switch {
		case errors.Is(err, engine.ErrOutOfMemory):
			errs[limit] = err
			return outOfMemory
		case err != nil:
			t.Fatalf("%s: %v", engine.FormatBytes(limit), err)
		}
		comparePredictionExact(t, got, want, x, y, true)
		return placement(residentAtOpen, opened)
	}, nil)
	succeeded := firstSuccess(t, tried, errs)
	if succeeded == 0 {
		t.Errorf("no limit up to 8 MB sufficed")
	}
	t.Logf("the first limit that sufficed: %s (%d limits tried)", engine.FormatBytes(succeeded), len(tried))
}
