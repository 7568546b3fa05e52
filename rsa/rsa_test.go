package rsa

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/stats"
)

type fixtureCase struct {
	Name   string    `json:"name"`
	N      int       `json:"n"`
	D      int       `json:"d"`
	M      int       `json:"m"`
	X      []float64 `json:"x"`
	Y      []float64 `json:"y"`
	RDMs   map[string][]float64
	Scores map[string]float64
	CKA    float64 `json:"cka"`
	// CKADebiased is nil where it is undefined (fewer than MinDebiasedStimuli stimuli)
	CKADebiased *float64 `json:"cka_debiased"`
}

func loadFixtures(t *testing.T) []fixtureCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "rsa", "rsa.json"))
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 testdata/gen_rsa.py)", err)
	}
	var doc struct {
		Cases []map[string]json.RawMessage `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var out []fixtureCase
	for _, raw := range doc.Cases {
		var c fixtureCase
		rb, _ := json.Marshal(raw)
		if err := json.Unmarshal(rb, &c); err != nil {
			t.Fatal(err)
		}
		c.RDMs, c.Scores = map[string][]float64{}, map[string]float64{}
		for _, k := range []string{"rdm_x_correlation", "rdm_y_correlation", "rdm_x_euclidean", "rdm_y_euclidean"} {
			var v []float64
			if err := json.Unmarshal(raw[k], &v); err != nil {
				t.Fatal(k, err)
			}
			c.RDMs[k] = v
		}
		for _, k := range []string{"spearman_correlation", "pearson_correlation", "spearman_euclidean", "pearson_euclidean"} {
			var v float64
			if err := json.Unmarshal(raw[k], &v); err != nil {
				t.Fatal(k, err)
			}
			c.Scores[k] = v
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		t.Fatal("no fixture cases")
	}
	return out
}

// within reports |got - want| <= tol (1 + |want|): absolute near 0, relative beyond 1.
func within(got, want, tol float64) bool { return math.Abs(got-want) <= tol*(1+math.Abs(want)) }

// smallBlocks makes every path (several column chunks, several row blocks) run on small data.
func smallBlocks(t *testing.T) {
	cb, rb := chunkBytes, rowBlock
	chunkBytes, rowBlock = 8*3*16, 4 // chunks of 16 columns for 3 rows... at least 16 columns
	t.Cleanup(func() { chunkBytes, rowBlock = cb, rb })
}

func TestAgainstSciPy(t *testing.T) {
	ctx := context.Background()
	worst := map[string]float64{}
	for _, blocks := range []string{"default", "small"} {
		if blocks == "small" {
			smallBlocks(t)
		}
		for _, c := range loadFixtures(t) {
			x := engine.NewMatrix64(c.N, c.D, c.X)
			y := engine.NewMatrix64(c.N, c.M, c.Y)
			for _, dist := range []Distance{Correlation, Euclidean} {
				rx, err := NewRDM(ctx, x, dist)
				if err != nil {
					t.Fatalf("%s: %v", c.Name, err)
				}
				ry, err := NewRDM(ctx, y, dist)
				if err != nil {
					t.Fatalf("%s: %v", c.Name, err)
				}
				for name, r := range map[string]*RDM{"x": rx, "y": ry} {
					want := c.RDMs["rdm_"+name+"_"+string(dist)]
					if len(r.Values) != len(want) {
						t.Fatalf("%s %s %s: %d values, want %d", c.Name, dist, name, len(r.Values), len(want))
					}
					for k, v := range r.Values {
						worst["rdm "+string(dist)] = max(worst["rdm "+string(dist)], math.Abs(v-want[k])/(1+math.Abs(want[k])))
						if !within(v, want[k], 1e-12) {
							t.Errorf("%s (%s blocks) %s RDM of %s [%d] = %.17g, scipy %.17g", c.Name, blocks, dist, name, k, v, want[k])
						}
					}
				}
				for _, cmp := range []Comparison{Spearman, Pearson} {
					got, err := Compare(rx, ry, cmp)
					if err != nil {
						t.Fatal(err)
					}
					want := c.Scores[string(cmp)+"_"+string(dist)]
					worst[string(cmp)] = max(worst[string(cmp)], math.Abs(got-want))
					if !within(got, want, 1e-12) {
						t.Errorf("%s %s of %s RDMs = %.17g, scipy %.17g", c.Name, cmp, dist, got, want)
					}
				}
			}
			got, err := LinearCKA(ctx, x, y)
			if err != nil {
				t.Fatal(err)
			}
			worst["cka"] = max(worst["cka"], math.Abs(got-c.CKA))
			if !within(got, c.CKA, 1e-12) {
				t.Errorf("%s: CKA %.17g, NumPy %.17g", c.Name, got, c.CKA)
			}
			debiased, err := LinearDebiasedCKA(ctx, x, y)
			switch {
			case c.CKADebiased == nil:
				if err == nil || c.N >= MinDebiasedStimuli {
					t.Errorf("%s: debiased CKA of %d stimuli %v, error %v; want an error below %d", c.Name, c.N, debiased, err, MinDebiasedStimuli)
				}
			case err != nil:
				t.Errorf("%s: debiased CKA: %v", c.Name, err)
			default:
				worst["cka_debiased"] = max(worst["cka_debiased"], math.Abs(debiased-*c.CKADebiased))
				if !within(debiased, *c.CKADebiased, 1e-12) {
					t.Errorf("%s: debiased CKA %.17g, exact %.17g", c.Name, debiased, *c.CKADebiased)
				}
			}
		}
	}
	t.Logf("largest differences from SciPy/NumPy (relative for RDMs): %v", worst)
}

// randomMatrix is n x p standard normal values.
func randomMatrix(r *rand.Rand, n, p int) []float64 {
	v := make([]float64, n*p)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

// multiply returns a (n x k) b (k x m).
func multiply(a []float64, n, k int, b []float64, m int) []float64 {
	out := make([]float64, n*m)
	for i := range n {
		for l := range k {
			av := a[i*k+l]
			for j := range m {
				out[i*m+j] += av * b[l*m+j]
			}
		}
	}
	return out
}

// TestPlanted: brain data that are a noisy linear map of the features score higher, by RSA and
// CKA, than brain data unrelated to them.
func TestPlanted(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	const n, d, m = 60, 20, 40
	x := randomMatrix(r, n, d)
	related := multiply(x, n, d, randomMatrix(r, d, m), m)
	for i := range related {
		related[i] += 2 * r.NormFloat64()
	}
	unrelated := randomMatrix(r, n, m)
	xm := engine.NewMatrix64(n, d, x)
	for _, dist := range []Distance{Correlation, Euclidean} {
		rx, _ := NewRDM(ctx, xm, dist)
		rRel, _ := NewRDM(ctx, engine.NewMatrix64(n, m, related), dist)
		rUn, _ := NewRDM(ctx, engine.NewMatrix64(n, m, unrelated), dist)
		for _, c := range []Comparison{Spearman, Pearson} {
			good, err := Mantel(ctx, rx, rRel, c, 199, 7)
			if err != nil {
				t.Fatal(err)
			}
			bad, err := Mantel(ctx, rx, rUn, c, 199, 7)
			if err != nil {
				t.Fatal(err)
			}
			if !(good.R > 0.5 && math.Abs(bad.R) < 0.15 && good.P == 1.0/200 && bad.P > 0.05) {
				t.Errorf("%s/%s: related %+v, unrelated %+v", dist, c, good, bad)
			}
		}
	}
	good, _ := LinearCKA(ctx, xm, engine.NewMatrix64(n, m, related))
	bad, _ := LinearCKA(ctx, xm, engine.NewMatrix64(n, m, unrelated))
	if !(good > 0.7 && bad < good-0.3) {
		t.Errorf("CKA related %v, unrelated %v", good, bad)
	}
}

// TestCKAInvariance: linear CKA is unchanged by an orthogonal transform and an isotropic scaling
// of X, and by a translation (centring); it is 1 against itself.
func TestCKAInvariance(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	const n, d, m = 30, 6, 9
	x := randomMatrix(r, n, d)
	y := randomMatrix(r, n, m)
	for i := range y {
		y[i] += x[(i/m)*d+(i%m)%d]
	}
	xq := multiply(x, n, d, randomOrthogonal(r, d), d)
	for i := range xq {
		xq[i] = 3.7*xq[i] + 100
	}
	ym := engine.NewMatrix64(n, m, y)
	for _, est := range []struct {
		name string
		cka  func(ctx context.Context, x, y engine.Matrix) (float64, error)
	}{{"CKA", LinearCKA}, {"debiased CKA", LinearDebiasedCKA}} {
		a, err := est.cka(ctx, engine.NewMatrix64(n, d, x), ym)
		if err != nil {
			t.Fatal(err)
		}
		b, err := est.cka(ctx, engine.NewMatrix64(n, d, xq), ym)
		if err != nil {
			t.Fatal(err)
		}
		if !within(a, b, 1e-12) || !(a > 0.2) {
			t.Errorf("%s %v, after an orthogonal map, scaling and translation %v", est.name, a, b)
		}
		self, _ := est.cka(ctx, ym, ym)
		if !within(self, 1, 1e-14) {
			t.Errorf("%s of Y with itself %v", est.name, self)
		}
	}
}

// randomOrthogonal is a random d x d orthogonal matrix: the Q of a Gaussian matrix's QR
// factorisation, by modified Gram-Schmidt on its columns, twice for orthogonality to rounding.
func randomOrthogonal(r *rand.Rand, d int) []float64 {
	q := randomMatrix(r, d, d)
	col := make([]float64, d)
	for j := range d {
		for range 2 {
			for k := range j {
				dot := 0.0
				for i := range d {
					dot += q[i*d+j] * q[i*d+k]
				}
				for i := range d {
					q[i*d+j] -= dot * q[i*d+k]
				}
			}
		}
		norm := 0.0
		for i := range d {
			col[i] = q[i*d+j]
			norm += col[i] * col[i]
		}
		for i := range d {
			q[i*d+j] = col[i] / math.Sqrt(norm)
		}
	}
	return q
}

// TestDebiasedCKAPlanted: with many more features than stimuli (d = 4096, n = 200, the usual
// case for a network layer against a few hundred images), unrelated random representations have
// biased CKA near 1 and debiased CKA near 0; a representation against itself rotated, scaled and
// shifted has CKA 1 by both.
func TestDebiasedCKAPlanted(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(13, 14))
	const n, d = 200, 4096
	x := engine.NewMatrix64(n, d, randomMatrix(r, n, d))
	y := engine.NewMatrix64(n, d, randomMatrix(r, n, d))
	biased, err := LinearCKA(ctx, x, y)
	if err != nil {
		t.Fatal(err)
	}
	debiased, err := LinearDebiasedCKA(ctx, x, y)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("unrelated, n = %d, d = %d: biased CKA %.4f, debiased %.4f", n, d, biased, debiased)
	// biased: about 1 / (1 + n/d) = 0.95; debiased: 0 with a standard deviation of about 1/n
	if !(biased > 0.9 && math.Abs(debiased) < 0.02) {
		t.Errorf("unrelated data: biased CKA %v (want > 0.9), debiased %v (want within 0.02 of 0)", biased, debiased)
	}

	// related: Y = X Q s + c, Q orthogonal, over fewer features (a d x d Q is costly)
	const small = 300
	xs := randomMatrix(r, n, small)
	ys := multiply(xs, n, small, randomOrthogonal(r, small), small)
	for i := range ys {
		ys[i] = 0.25*ys[i] - 3
	}
	xm, ym := engine.NewMatrix64(n, small, xs), engine.NewMatrix64(n, small, ys)
	biased, err = LinearCKA(ctx, xm, ym)
	if err != nil {
		t.Fatal(err)
	}
	debiased, err = LinearDebiasedCKA(ctx, xm, ym)
	if err != nil {
		t.Fatal(err)
	}
	if !within(biased, 1, 1e-12) || !within(debiased, 1, 1e-12) {
		t.Errorf("rotated, scaled and shifted copy: biased CKA %.17g, debiased %.17g; want 1", biased, debiased)
	}
}

// TestDebiasedCKAUndefined: constant data, data that vary at one stimulus only (zero unbiased
// HSIC), and fewer than 4 stimuli are errors; a Gram matrix of other stimuli too.
func TestDebiasedCKAUndefined(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(15, 16))
	const n, d = 12, 5
	x := engine.NewMatrix64(n, d, randomMatrix(r, n, d))
	constant := make([]float64, n*3)
	for i := range constant {
		constant[i] = 2.5
	}
	if v, err := LinearDebiasedCKA(ctx, x, engine.NewMatrix64(n, 3, constant)); !errors.Is(err, ErrNoVariance) || !math.IsNaN(v) ||
		!strings.Contains(err.Error(), "second") {
		t.Errorf("constant data: %v, %v", v, err)
	}
	// every stimulus the same but one, which differs by a large amount: exact HSIC_1 = 0
	single := make([]float64, n*d)
	for i := range single {
		single[i] = 0.1 * float64(i%d)
	}
	for j := range d {
		single[7*d+j] += 1e3 * float64(j+1)
	}
	if v, err := LinearDebiasedCKA(ctx, engine.NewMatrix64(n, d, single), x); !errors.Is(err, ErrNoUnbiasedVariance) || !math.IsNaN(v) ||
		!strings.Contains(err.Error(), "first") {
		t.Errorf("one stimulus apart: %v, %v", v, err)
	}
	// two stimuli apart the same way: HSIC_1 > 0, defined
	single[3*d] += 1
	if _, err := LinearDebiasedCKA(ctx, engine.NewMatrix64(n, d, single), x); err != nil {
		t.Errorf("two stimuli apart: %v", err)
	}
	if _, err := LinearDebiasedCKA(ctx, engine.NewMatrix64(3, d, x.F64[:3*d]), engine.NewMatrix64(3, d, x.F64[d:4*d])); err == nil {
		t.Error("3 stimuli accepted")
	}
	g4, _ := CentredGram(ctx, engine.NewMatrix64(4, d, x.F64[:4*d]))
	g5, _ := CentredGram(ctx, engine.NewMatrix64(5, d, x.F64[:5*d]))
	if _, err := DebiasedCKA(g4, g5); err == nil {
		t.Error("Gram matrices of 4 and 5 stimuli accepted")
	}
}

// TestLayouts: float32 and column-major data, and small blocks, give the float64 row-major
// results.
func TestLayouts(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 6))
	const n, p = 37, 53
	v := randomMatrix(r, n, p)
	f32 := make([]float32, len(v))
	for i := range v {
		f32[i] = float32(v[i])
		v[i] = float64(f32[i])
	}
	colMajor := make([]float64, len(v))
	for i := range n {
		for j := range p {
			colMajor[j*n+i] = v[i*p+j]
		}
	}
	ref := engine.NewMatrix64(n, p, v)
	want := map[Distance]*RDM{}
	for _, dist := range []Distance{Correlation, Euclidean} {
		want[dist], _ = NewRDM(ctx, ref, dist)
	}
	smallBlocks(t)
	for name, m := range map[string]engine.Matrix{
		"float32":      engine.NewMatrix32(n, p, f32),
		"column-major": {Rows: n, Cols: p, ColMajor: true, F64: colMajor},
		"small blocks": ref,
	} {
		for _, dist := range []Distance{Correlation, Euclidean} {
			got, err := NewRDM(ctx, m, dist)
			if err != nil {
				t.Fatal(err)
			}
			for k := range got.Values {
				if !within(got.Values[k], want[dist].Values[k], 1e-13) {
					t.Fatalf("%s %s [%d]: %v, want %v", name, dist, k, got.Values[k], want[dist].Values[k])
				}
			}
		}
	}
}

// TestEuclideanClustered: stimuli in tight clusters far from the centroid, whose distances the
// Gram matrix alone would give to a few digits, are recomputed and exact.
func TestEuclideanClustered(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const n, p = 20, 30
	v := make([]float64, n*p)
	for i := range n {
		for j := range p {
			v[i*p+j] = float64(10*(i%2)*(j%3)) + 1e-5*r.NormFloat64() // two clusters of radius 1e-5
		}
	}
	rdm, err := NewRDM(context.Background(), engine.NewMatrix64(n, p, v), Euclidean)
	if err != nil {
		t.Fatal(err)
	}
	if rdm.Recomputed == 0 {
		t.Errorf("no pair recomputed")
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			s := 0.0
			for c := range p {
				e := v[i*p+c] - v[j*p+c]
				s += e * e
			}
			if want := math.Sqrt(s); math.Abs(rdm.At(i, j)-want) > 1e-12*want {
				t.Errorf("d(%d, %d) = %.17g, want %.17g", i, j, rdm.At(i, j), want)
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	v := []float64{1, 2, 3, 4, 4, 4, 5, 1, 2, 0, 1, 0}
	_, err := NewRDM(ctx, engine.NewMatrix64(4, 3, v), Correlation)
	var cr *ConstantRowError
	if !errors.As(err, &cr) || cr.Row != 1 {
		t.Errorf("constant row: %v", err)
	}
	near := []float64{0.1, 0.1, 0.1 + 1e-17, 1, 2, 3, 3, 1, 2}
	near[2] = math.Nextafter(0.1, 1)
	if _, err := NewRDM(ctx, engine.NewMatrix64(3, 3, near), Correlation); !errors.As(err, &cr) || cr.Row != 0 {
		t.Errorf("row constant up to rounding: %v", err)
	}
	if _, err := NewRDM(ctx, engine.NewMatrix64(4, 3, v), Euclidean); err != nil {
		t.Errorf("euclidean with a constant row: %v", err)
	}
	if _, err := NewRDM(ctx, engine.NewMatrix64(2, 3, v[:6]), Correlation); err == nil {
		t.Error("two stimuli accepted")
	}
	nan := append([]float64(nil), v...)
	nan[7] = math.NaN()
	if _, err := NewRDM(ctx, engine.NewMatrix64(4, 3, nan), Euclidean); err == nil {
		t.Error("NaN accepted")
	}
	if _, err := LinearCKA(ctx, engine.NewMatrix64(4, 3, v), engine.NewMatrix64(4, 1, []float64{2, 2, 2, 2})); !errors.Is(err, ErrNoVariance) {
		t.Errorf("constant CKA: %v", err)
	}
	flat := &RDM{N: 4, Values: []float64{1, 1, 1, 1, 1, 1}}
	other := &RDM{N: 4, Values: []float64{1, 2, 3, 4, 5, 6}}
	if _, err := Compare(other, flat, Spearman); !errors.Is(err, ErrConstantRDM) {
		t.Errorf("constant RDM: %v", err)
	}
}

func TestMantel(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(9, 10))
	const n = 25
	a, _ := NewRDM(ctx, engine.NewMatrix64(n, 5, randomMatrix(r, n, 5)), Euclidean)
	b, _ := NewRDM(ctx, engine.NewMatrix64(n, 5, randomMatrix(r, n, 5)), Euclidean)
	for _, c := range []Comparison{Spearman, Pearson} {
		first, err := Mantel(ctx, a, b, c, 500, 42)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := Mantel(ctx, a, b, c, 500, 42)
		other, _ := Mantel(ctx, a, b, c, 500, 43)
		direct, _ := Compare(a, b, c)
		if first != again || first.R != direct || !(first.P > 0 && first.P <= 1) || first.P == other.P && first.P < 1 {
			t.Errorf("%s: %+v, again %+v, seed 43 %+v, Compare %v", c, first, again, other, direct)
		}
		// k/(N+1) steps: p is a multiple of 1/501
		if k := first.P * 501; math.Abs(k-math.Round(k)) > 1e-9 {
			t.Errorf("%s: p %v is not a count over 501", c, first.P)
		}
		none, _ := Mantel(ctx, a, b, c, 0, 42)
		if !math.IsNaN(none.P) {
			t.Errorf("no permutations: p %v", none.P)
		}
	}
	// permuting b's stimuli by a permutation's own rank order: the permuted dot product matches a
	// directly permuted RDM
	perm := r.Perm(n)
	pb := &RDM{N: n, Values: make([]float64, len(b.Values))}
	for i := range n {
		for j := i + 1; j < n; j++ {
			pb.Values[CondensedIndex(n, i, j)] = b.At(perm[i], perm[j])
		}
	}
	direct := 0.0
	for k := range a.Values {
		direct += a.Values[k] * pb.Values[k]
	}
	if got := permutedDot(a.Values, b.Values, n, perm); !within(got, direct, 1e-13) {
		t.Errorf("permutedDot %v, direct %v", got, direct)
	}
}

func TestCondensedIndex(t *testing.T) {
	const n = 7
	k := 0
	for i := range n {
		for j := i + 1; j < n; j++ {
			if CondensedIndex(n, i, j) != k || CondensedIndex(n, j, i) != k {
				t.Fatalf("(%d, %d): %d, want %d", i, j, CondensedIndex(n, i, j), k)
			}
			k++
		}
	}
}

// TestRankTies: on values without near ties, scipy's average ranks (stats.Rank, checked against
// rankdata); values equal but for rounding are tied.
func TestRankTies(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	v := make([]float64, 300)
	for i := range v {
		v[i] = float64(r.IntN(40)) + 0.5*r.Float64()*float64(i%2) // exact ties among the even ones
	}
	got, want := rankTies(v, 0), stats.Rank(v)
	for i := range v {
		if got[i] != want[i] {
			t.Fatalf("rank of v[%d] = %v: %v, want %v", i, v[i], got[i], want[i])
		}
	}
	near := []float64{math.Sqrt(2), 1, math.Sqrt(2) * (1 + 4e-16), 3}
	if got := rankTies(near, 0); got[0] != 2.5 || got[2] != 2.5 || got[1] != 1 || got[3] != 4 {
		t.Errorf("ranks %v", got)
	}
	// correlation distances of 0 rounded to 0 and 1e-16 are ties (floor 1); Euclidean distances
	// that small are distinct (floor 0)
	small := []float64{0, 0.5, 1.1102230246251565e-16, 2.220446049250313e-16}
	if got := rankTies(small, tieFloor(Correlation)); got[0] != 2 || got[2] != 2 || got[3] != 2 || got[1] != 4 {
		t.Errorf("correlation ranks %v", got)
	}
	if got := rankTies(small, tieFloor(Euclidean)); got[0] != 1 || got[2] != 2 || got[3] != 3 || got[1] != 4 {
		t.Errorf("Euclidean ranks %v", got)
	}
	// a correlation distance's tie is 1e-12 absolute below 1: 0.5e-12 apart tied, 1.5e-12 not
	mid := []float64{0.3, 0.3 + 1.5e-12, 0.3 + 0.5e-12, 0.1}
	if got := rankTies(mid, tieFloor(Correlation)); got[3] != 1 || got[0] != 2.5 || got[2] != 2.5 || got[1] != 4 {
		t.Errorf("correlation ranks of %v: %v", mid, got)
	}
}

// TestSpearmanAffineTies: stimuli that are scaled and shifted copies of four base patterns have
// correlation distances exactly equal to their bases' (0 within a base), which the products round
// to 0 or a few 1e-16. Those are ties: the reference is spearmanr of the exact RDM
// (testdata/gen_rsa.py, affine_ties.json), which spearmanr of scipy's own pdist misses, since
// pdist's rounding splits the zeros too.
func TestSpearmanAffineTies(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "rsa", "affine_ties.json"))
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 testdata/gen_rsa.py)", err)
	}
	var f struct {
		N, D, M       int
		X, Y          []float64
		SpearmanExact float64 `json:"spearman_exact"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rx, err := NewRDM(ctx, engine.NewMatrix64(f.N, f.D, f.X), Correlation)
	if err != nil {
		t.Fatal(err)
	}
	ry, err := NewRDM(ctx, engine.NewMatrix64(f.N, f.M, f.Y), Correlation)
	if err != nil {
		t.Fatal(err)
	}
	zeros := map[float64]bool{}
	for _, v := range rx.Values {
		if v < 1e-12 {
			zeros[v] = true
		}
	}
	if len(zeros) < 2 {
		t.Logf("the products rounded every zero distance alike (%v): the test does not reach the tie rule", zeros)
	}
	got, err := Compare(rx, ry, Spearman)
	if err != nil {
		t.Fatal(err)
	}
	if !within(got, f.SpearmanExact, 1e-12) {
		t.Errorf("Spearman = %.17g, want %.17g (the exact RDM's ties)", got, f.SpearmanExact)
	}
}

// BenchmarkRSA times the pieces at a typical study's size: n = 1000 stimuli, a layer of d = 768
// features, brain data of m = 5000 targets.
func BenchmarkRSA(b *testing.B) {
	const n, d, m = 1000, 768, 5000
	r := rand.New(rand.NewPCG(1, 1))
	x := engine.NewMatrix32(n, d, float32s(randomMatrix(r, n, d)))
	y := engine.NewMatrix32(n, m, float32s(randomMatrix(r, n, m)))
	ctx := context.Background()
	for _, c := range []struct {
		name string
		data engine.Matrix
	}{{"d=768", x}, {"m=5000", y}} {
		for _, dist := range []Distance{Correlation, Euclidean} {
			b.Run("RDM/"+string(dist)+"/"+c.name, func(b *testing.B) {
				for b.Loop() {
					if _, err := NewRDM(ctx, c.data, dist); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)*float64(n)*float64(c.data.Cols)/b.Elapsed().Seconds()*float64(b.N)/1e9, "GFLOP/s")
			})
		}
	}
	b.Run("CKA/d=768,m=5000", func(b *testing.B) {
		for b.Loop() {
			if _, err := LinearCKA(ctx, x, y); err != nil {
				b.Fatal(err)
			}
		}
	})
	// from the Gram matrices: what each adds once they are made (the command makes them once)
	gx, _ := CentredGram(ctx, x)
	gy, _ := CentredGram(ctx, y)
	for name, f := range map[string]func(x, y *Gram) (float64, error){"biased": CKA, "debiased": DebiasedCKA} {
		b.Run("CKA-from-Gram/"+name, func(b *testing.B) {
			for b.Loop() {
				if _, err := f(gx, gy); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	rx, _ := NewRDM(ctx, x, Correlation)
	ry, _ := NewRDM(ctx, y, Correlation)
	for _, c := range []Comparison{Spearman, Pearson} {
		b.Run("Compare/"+string(c), func(b *testing.B) {
			for b.Loop() {
				if _, err := Compare(rx, ry, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("Mantel/spearman/100-permutations", func(b *testing.B) {
		for b.Loop() {
			if _, err := Mantel(ctx, rx, ry, Spearman, 100, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func float32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// Ties are judged relative to each dissimilarity, not to the RDM's largest: small distinct
// dissimilarities beside a large one keep their order (scipy.stats.spearmanr: -5/11 here).
func TestSpearmanSmallBesideLarge(t *testing.T) {
	a := &RDM{N: 5, Distance: Euclidean}
	b := &RDM{N: 5, Distance: Euclidean}
	for k := range 9 {
		a.Values = append(a.Values, 1+float64(k)*1e-10)
		b.Values = append(b.Values, 1+float64(8-k)*1e-10)
	}
	a.Values, b.Values = append(a.Values, 1000), append(b.Values, 1000)
	r, err := Compare(a, b, Spearman)
	if err != nil {
		t.Fatal(err)
	}
	if want := -0.4545454545454545; math.Abs(r-want) > 1e-12 {
		t.Errorf("Spearman %v, scipy %v", r, want)
	}
}

// An RDM constant up to rounding (one-hot stimuli: every Euclidean distance sqrt(2) times the
// same) is the constant one, whichever side it is.
func TestConstantRDMNamed(t *testing.T) {
	flat := &RDM{N: 4, Distance: Euclidean, Values: []float64{5.23, 5.23 * (1 + 2e-16), 5.23, 5.23 * (1 - 1e-16), 5.23, 5.23}}
	varied := &RDM{N: 4, Distance: Euclidean, Values: []float64{1, 2, 3, 4, 5, 6}}
	for _, c := range []struct {
		a, b  *RDM
		which string
	}{{flat, varied, "the first"}, {varied, flat, "the second"}} {
		_, err := Compare(c.a, c.b, Spearman)
		if !errors.Is(err, ErrConstantRDM) || !strings.Contains(err.Error(), c.which+" RDM is constant") {
			t.Errorf("%v: want %s RDM named constant", err, c.which)
		}
	}
}

// TestCKAConstantNotExact: data constant across the stimuli at a value that is not a sum of
// its own copies exactly (0.1) are ErrNoVariance for both estimators, not a CKA of rounding
// noise (biased CKA was about 1e-17, debiased "varies at one stimulus").
func TestCKAConstantNotExact(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(17, 18))
	for _, n := range []int{10, 37, 1000} {
		for _, v := range []float64{0.1, 1.0 / 3, 1e5 + 0.1} {
			const d = 3
			c := make([]float64, n*d)
			for i := range c {
				c[i] = v * float64(1+i%d)
			}
			x := engine.NewMatrix64(n, d, randomMatrix(r, n, d))
			y := engine.NewMatrix64(n, d, c)
			// the constant data second, then first: the error names the side
			for _, pair := range []struct {
				a, b  engine.Matrix
				which string
			}{{x, y, "the second data"}, {y, x, "the first data"}} {
				if got, err := LinearCKA(ctx, pair.a, pair.b); !errors.Is(err, ErrNoVariance) || !math.IsNaN(got) ||
					!strings.Contains(err.Error(), pair.which) {
					t.Errorf("n=%d, columns %v, 2 x %v, ... as %s: CKA %v, %v; want ErrNoVariance", n, v, v, pair.which, got, err)
				}
				if got, err := LinearDebiasedCKA(ctx, pair.a, pair.b); !errors.Is(err, ErrNoVariance) || !math.IsNaN(got) ||
					!strings.Contains(err.Error(), pair.which) {
					t.Errorf("n=%d, columns %v, 2 x %v, ... as %s: debiased CKA %v, %v; want ErrNoVariance", n, v, v, pair.which, got, err)
				}
			}
		}
	}
}

// TestDebiasedCKAManyTargets: few stimuli of very many targets (d >> n, where the unbiased
// HSIC's terms of order d² cancel) against the formula in high-precision arithmetic on the exact
// Gram matrices of the uncentred data. Summed in its expanded form the formula lost digits in
// proportion to d/n (1.5e-10 here).
func TestDebiasedCKAManyTargets(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(19, 20))
	const n, d, m = 5, 300000, 100000
	x, y := make([]float64, n*d), make([]float64, n*m)
	for i := range x {
		x[i] = float64(float32(r.NormFloat64() + 5))
	}
	for i := range n {
		for j := range m {
			y[i*m+j] = float64(float32(r.NormFloat64() + 5 + 0.05*x[i*d+j]))
		}
	}
	got, err := LinearDebiasedCKA(ctx, engine.NewMatrix64(n, d, x), engine.NewMatrix64(n, m, y))
	if err != nil {
		t.Fatal(err)
	}
	const prec = 1024
	exactGram := func(v []float64, p int) [][]*big.Float {
		g := make([][]*big.Float, n)
		for i := range n {
			g[i] = make([]*big.Float, n)
		}
		prod := new(big.Float).SetPrec(prec)
		a, b := new(big.Float).SetPrec(prec), new(big.Float).SetPrec(prec)
		for i := range n {
			for j := i; j < n; j++ {
				s := new(big.Float).SetPrec(prec)
				for k := range p {
					a.SetFloat64(v[i*p+k])
					b.SetFloat64(v[j*p+k])
					s.Add(s, prod.Mul(a, b))
				}
				g[i][j], g[j][i] = s, s
			}
		}
		return g
	}
	hsic := func(k, l [][]*big.Float) *big.Float {
		f := func() *big.Float { return new(big.Float).SetPrec(prec) }
		tr, sk, sl, kl := f(), f(), f(), f()
		for i := range n {
			rk, rl := f(), f()
			for j := range n {
				if i != j {
					tr.Add(tr, f().Mul(k[i][j], l[i][j]))
					rk.Add(rk, k[i][j])
					rl.Add(rl, l[i][j])
				}
			}
			sk.Add(sk, rk)
			sl.Add(sl, rl)
			kl.Add(kl, f().Mul(rk, rl))
		}
		h := f().Quo(f().Mul(sk, sl), f().SetInt64((n-1)*(n-2)))
		h.Add(h, tr)
		return h.Sub(h, f().Quo(f().Mul(kl, f().SetInt64(2)), f().SetInt64(n-2)))
	}
	k, l := exactGram(x, d), exactGram(y, m)
	kl, kk, ll := hsic(k, l), hsic(k, k), hsic(l, l)
	den := new(big.Float).SetPrec(prec).Mul(kk, ll)
	want, _ := new(big.Float).SetPrec(prec).Quo(kl, den.Sqrt(den)).Float64()
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("debiased CKA %.17g, exact %.17g: error %.2g", got, want, math.Abs(got-want))
	}
}

// TestDebiasedCKAOneStimulusApart: data whose stimuli are all the same but one have an unbiased
// HSIC of exactly 0 (it averages ((x_i - x_j) · (x_k - x_l))² over disjoint pairs, and of two
// disjoint pairs one has no stimulus apart, a zero difference), at any units and with many
// features, where the rounding left of it grows with the Gram matrix's entries. Either side is
// named.
func TestDebiasedCKAOneStimulusApart(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(21, 22))
	const n = 9
	other := engine.NewMatrix64(n, 4, randomMatrix(r, n, 4))
	for _, p := range []int{3, 2000} {
		common, apart := randomMatrix(r, 1, p), randomMatrix(r, 1, p)
		for _, unit := range []float64{1e-120, 1, 1e120} {
			v := make([]float64, n*p)
			for i := range n {
				for j := range p {
					v[i*p+j] = (common[j] + 3) * unit
					if i == 5 {
						v[i*p+j] = apart[j] * unit
					}
				}
			}
			x := engine.NewMatrix64(n, p, v)
			for _, pair := range []struct {
				a, b  engine.Matrix
				which string
			}{{x, other, "the first data"}, {other, x, "the second data"}} {
				if got, err := LinearDebiasedCKA(ctx, pair.a, pair.b); !errors.Is(err, ErrNoUnbiasedVariance) || !math.IsNaN(got) ||
					!strings.Contains(err.Error(), pair.which) {
					t.Errorf("%d features in units of %g as %s: debiased CKA %v, %v; want ErrNoUnbiasedVariance", p, unit, pair.which, got, err)
				}
			}
		}
	}
}

// TestDebiasedCKAUnbiasedTolBound: the unbiased HSIC counts as zero where the root sum of
// squares of the unbiased-centred entries is at most unbiasedTol sqrt(n) times that of K's
// off-diagonal entries. For one feature, x = (1, δ, 0, ..., 0) (one stimulus apart and a
// second δ of the way), K = x xᵀ has off the diagonal only K_12 = δ, and by hand
//
//	n(n-3) HSIC_1(K, K) = 2δ² + (2δ)² / ((n-1)(n-2)) - 2/(n-2) (δ² + δ²) = 2δ² (n-3) / (n-1),
//
// the same for the centred K (the estimator does not see means), whose off-diagonal sum of
// squares is (Σ xc_i²)² - Σ xc_i⁴, xc = x - mean(x). δ twice the bound is defined, half of it not.
func TestDebiasedCKAUnbiasedTolBound(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(23, 24))
	const n = 9
	other := engine.NewMatrix64(n, 3, randomMatrix(r, n, 3))
	s2, s4 := 0.0, 0.0
	for i := range n {
		xc := -1.0 / n // x = (1, 0, ..., 0): δ moves this by a share of 1e-13
		if i == 0 {
			xc = 1 - 1.0/n
		}
		s2, s4 = s2+xc*xc, s4+xc*xc*xc*xc
	}
	offDiag := s2*s2 - s4
	// 2δ²(n-3)/(n-1) = unbiasedTol² n offDiag at the bound
	bound := math.Sqrt(unbiasedTol * unbiasedTol * n * offDiag * (n - 1) / (2 * (n - 3)))
	for _, c := range []struct {
		delta   float64
		defined bool
	}{{2 * bound, true}, {bound / 2, false}} {
		x := make([]float64, n)
		x[0], x[1] = 1, c.delta
		got, err := LinearDebiasedCKA(ctx, engine.NewMatrix64(n, 1, x), other)
		if c.defined && err != nil || !c.defined && !errors.Is(err, ErrNoUnbiasedVariance) {
			t.Errorf("δ = %.3g (bound %.3g): debiased CKA %v, %v; defined: %v", c.delta, bound, got, err, c.defined)
		}
	}
}

// mantelByDefinition is Mantel's p-value as its documentation defines it, through Compare of a
// with b's stimuli permuted directly: permutation k is rand.New(rand.NewPCG(seed, k)).Perm(n)
// and p = (1 + #{k : r_k >= r - permutationTol}) / (1 + permutations).
func mantelByDefinition(t *testing.T, a, b *RDM, c Comparison, permutations int, seed uint64) float64 {
	t.Helper()
	r, err := Compare(a, b, c)
	if err != nil {
		t.Fatal(err)
	}
	n := a.N
	pb := &RDM{N: n, Values: make([]float64, len(b.Values)), Distance: b.Distance}
	count := 0
	for k := range permutations {
		perm := rand.New(rand.NewPCG(seed, uint64(k))).Perm(n)
		for i := range n {
			for j := i + 1; j < n; j++ {
				pb.Values[CondensedIndex(n, i, j)] = b.At(perm[i], perm[j])
			}
		}
		rk, err := Compare(a, pb, c)
		if err != nil {
			t.Fatal(err)
		}
		if rk >= r-permutationTol {
			count++
		}
	}
	return float64(1+count) / float64(1+permutations)
}

// TestMantelPValue: Mantel's p-value is its definition's, computed permutation by permutation
// (mantelByDefinition), for Spearman's ranks and Pearson's values, one permutation and a few,
// on one core or three (GOMAXPROCS is left as it was); weakly related data of 7 stimuli make
// most p-values neither 1 nor the least.
func TestMantelPValue(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(25, 26))
	const n, d = 7, 4
	x := randomMatrix(r, n, d)
	y := make([]float64, len(x))
	for i := range y {
		y[i] = 0.1*x[i] + r.NormFloat64()
	}
	seen := map[float64]bool{}
	for _, procs := range []int{1, 3} {
		func() {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			for _, dist := range []Distance{Correlation, Euclidean} {
				a, _ := NewRDM(ctx, engine.NewMatrix64(n, d, x), dist)
				b, _ := NewRDM(ctx, engine.NewMatrix64(n, d, y), dist)
				for _, c := range []Comparison{Spearman, Pearson} {
					for _, perms := range []int{1, 2, 5, 60} {
						for _, seed := range []uint64{1, 2} {
							got, err := Mantel(ctx, a, b, c, perms, seed)
							if err != nil {
								t.Fatal(err)
							}
							want := mantelByDefinition(t, a, b, c, perms, seed)
							direct, _ := Compare(a, b, c)
							if got.P != want || got.R != direct || got.Permutations != perms || got.Seed != seed {
								t.Errorf("%d cores, %s/%s, %d permutations, seed %d: %+v; want p %v, r %v", procs, dist, c, perms, seed, got, want, direct)
							}
							if perms == 60 {
								seen[want] = true
							}
						}
					}
				}
			}
			if now := runtime.GOMAXPROCS(0); now != procs {
				t.Errorf("GOMAXPROCS %d after Mantel, was %d", now, procs)
			}
		}()
	}
	between := 0
	for p := range seen {
		if p != 1 && p != 1.0/61 {
			between++
		}
	}
	if between < 4 {
		t.Errorf("p-values of 60 permutations %v: too few between the least and 1 to test the count", seen)
	}
}

// TestMantelUnits: Mantel's p-value does not depend on the RDMs' units. Dissimilarities of a
// few levels (as integer data give) make many permutations score exactly the observed score in
// exact arithmetic, which rounding puts a few units of the last place either side; the
// tolerance that counts them is on Pearson's scale, so it counts the same ones whether the
// dissimilarities are of size 1e7 or 1e-7 (and p is mantelByDefinition's at size 1), or 1e8
// plus a spread of 1.
func TestMantelUnits(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(27, 28))
	const n, perms = 5, 200
	for range 6 {
		a := &RDM{N: n, Distance: Euclidean}
		b := &RDM{N: n, Distance: Euclidean}
		for range n * (n - 1) / 2 {
			a.Values = append(a.Values, float64(1+r.IntN(3)))
			b.Values = append(b.Values, float64(1+r.IntN(2)))
		}
		want := mantelByDefinition(t, a, b, Pearson, perms, 3)
		for _, unit := range []float64{1, 1e7 / 3, 1 / 3e7} {
			au := &RDM{N: n, Distance: Euclidean}
			bu := &RDM{N: n, Distance: Euclidean}
			for k := range a.Values {
				au.Values = append(au.Values, a.Values[k]*unit)
				bu.Values = append(bu.Values, b.Values[k]*unit*1.1)
			}
			got, err := Mantel(ctx, au, bu, Pearson, perms, 3)
			if err != nil {
				t.Fatal(err)
			}
			if got.P != want {
				t.Errorf("a %v, b %v in units of %g: p %v, want %v", a.Values, b.Values, unit, got.P, want)
			}
		}
		// nor on where they start, as Pearson's r does not: b far from 0 beside its spread
		bs := &RDM{N: n, Distance: Euclidean}
		for _, v := range b.Values {
			bs.Values = append(bs.Values, v+1e8)
		}
		got, err := Mantel(ctx, a, bs, Pearson, perms, 3)
		if err != nil {
			t.Fatal(err)
		}
		if got.P != want {
			t.Errorf("a %v, b %v + 1e8: p %v, want %v", a.Values, b.Values, got.P, want)
		}
	}
}

// TestCKAWithinUnit: both estimators lie in [-1, 1], at the ends too, where rounding alone
// would take them past (about 1 in 4 of these cases). A representation against itself has CKA
// 1. Debiased CKA reaches -1: for x = (0, 0, 1, 1) and y = (-1, 1, 0, 0) (one feature each, 4
// stimuli), K~ has only K~_34 = 1 and L~ only L~_12 = -1 off its zero diagonal, so by hand
// tr(K~L~) = 0, 1ᵀK~1 = 2, 1ᵀL~1 = -2, K~1 · L~1 = (0, 0, 1, 1) · (-1, -1, 0, 0) = 0 and
//
//	n(n-3) HSIC_1(K, L) = 0 + 2 (-2) / 6 - 0 = -2/3,
//	n(n-3) HSIC_1(K, K) = 2 + 4/6 - 2/2 (0 + 0 + 1 + 1) = 2/3 = n(n-3) HSIC_1(L, L),
//
// so CKA_1 = -1; scaled and shifted (the estimator sees neither) it is -1 still.
func TestCKAWithinUnit(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(29, 30))
	for range 40 {
		n, d := 4+r.IntN(20), 1+r.IntN(30)
		g, err := CentredGram(ctx, engine.NewMatrix64(n, d, randomMatrix(r, n, d)))
		if err != nil {
			t.Fatal(err)
		}
		for name, cka := range map[string]func(x, y *Gram) (float64, error){"CKA": CKA, "debiased CKA": DebiasedCKA} {
			if v, err := cka(g, g); err != nil || v > 1 || v < 1-1e-15 {
				t.Errorf("%s of %d x %d data with themselves: %.17g, %v; want 1", name, n, d, v, err)
			}
		}
	}
	for _, scale := range []float64{1, 0.1, 3, 1e-7, 7.3e5, 1.0 / 3} {
		for _, shift := range []float64{0, 0.1, -5, 1e3} {
			x := []float64{shift, shift, scale + shift, scale + shift}
			y := []float64{-scale - shift, scale - shift, -shift, -shift}
			gx, _ := CentredGram(ctx, engine.NewMatrix64(4, 1, x))
			gy, _ := CentredGram(ctx, engine.NewMatrix64(4, 1, y))
			if v, err := DebiasedCKA(gx, gy); err != nil || v < -1 || v > -1+1e-15 {
				t.Errorf("debiased CKA of %v and %v: %.17g, %v; want -1", x, y, v, err)
			}
		}
	}
}

// TestMantelNearTies: permutations that score within a little of the observed score count
// where their definition (mantelByDefinition) counts them, whatever the margin: b's
// dissimilarities of three levels, two of them δ apart, make scores δ-sized steps from exact
// ties, for δ from below permutationTol's scale to well above it.
func TestMantelNearTies(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(31, 32))
	const n, perms = 5, 300
	for range 4 {
		a := &RDM{N: n, Distance: Euclidean}
		levels := make([]int, n*(n-1)/2)
		for k := range levels {
			a.Values = append(a.Values, float64(1+r.IntN(3)))
			levels[k] = r.IntN(3)
		}
		for _, delta := range []float64{1e-14, 1e-13, 3e-13, 1e-12, 3e-12, 1e-11, 1e-10, 1e-9, 1e-8} {
			b := &RDM{N: n, Distance: Euclidean}
			for _, l := range levels {
				b.Values = append(b.Values, []float64{1, 2, 2 + delta}[l])
			}
			got, err := Mantel(ctx, a, b, Pearson, perms, 5)
			if err != nil {
				t.Fatal(err)
			}
			if want := mantelByDefinition(t, a, b, Pearson, perms, 5); got.P != want {
				t.Errorf("a %v, b %v: p %v, want %v", a.Values, b.Values, got.P, want)
			}
		}
	}
}

// TestBytes: n(n-1)/2 float64 values, by hand: 24 bytes for 3 stimuli, 3,996,000 for 1,000,
// 4,294,836,224 for MaxStimuli (past int32), which are taken; one stimulus more is refused
// naming 4.3 GB and the data.
func TestBytes(t *testing.T) {
	for n, want := range map[int]int64{3: 24, 1000: 3996000, MaxStimuli: 4294836224} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %d, want %d", n, got, want)
		}
	}
	x := engine.NewMatrix64(MaxStimuli+1, 1, make([]float64, MaxStimuli+1))
	if _, err := CentredGram(context.Background(), x); err == nil || !strings.Contains(err.Error(), "rsa: data: 32769 stimuli; at most 32768 (an RDM of 32769 stimuli holds 4.3 GB)") {
		t.Errorf("%d stimuli: %v", MaxStimuli+1, err)
	}
	x.Name = "big.npy"
	if _, err := CentredGram(context.Background(), x); err == nil || !strings.HasPrefix(err.Error(), "rsa: big.npy: 32769 stimuli") {
		t.Errorf("%d stimuli named: %v", MaxStimuli+1, err)
	}
	// MaxStimuli itself is taken (checkShape alone: its Gram matrix would be 4.3 GB)
	if err := checkShape(engine.NewMatrix64(MaxStimuli, 1, randomMatrix(rand.New(rand.NewPCG(1, 1)), MaxStimuli, 1))); err != nil {
		t.Errorf("%d stimuli: %v", MaxStimuli, err)
	}
}

// TestUnitsDoNotMatter: the SciPy/NumPy fixtures' data in units of 1e-130 or 1e140 (their
// largest values near float64's extremes for sums of squares) give the same correlation RDMs,
// Spearman and Pearson scores and CKA, and Euclidean RDMs in those units: the data are scaled
// by a power of two before any product.
func TestUnitsDoNotMatter(t *testing.T) {
	ctx := context.Background()
	scaled := func(v []float64, unit float64) []float64 {
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = x * unit
		}
		return out
	}
	for _, unit := range []float64{1e-130, 1e140} {
		for _, c := range loadFixtures(t) {
			x := engine.NewMatrix64(c.N, c.D, scaled(c.X, unit))
			y := engine.NewMatrix64(c.N, c.M, scaled(c.Y, unit))
			for _, dist := range []Distance{Correlation, Euclidean} {
				size := 1.0
				if dist == Euclidean {
					size = unit
				}
				rdms := map[string]*RDM{}
				for name, m := range map[string]engine.Matrix{"x": x, "y": y} {
					r, err := NewRDM(ctx, m, dist)
					if err != nil {
						t.Fatalf("%s in units of %g: %v", c.Name, unit, err)
					}
					want := c.RDMs["rdm_"+name+"_"+string(dist)]
					for k, v := range r.Values {
						if !within(v/size, want[k], 1e-12) {
							t.Fatalf("%s in units of %g: %s RDM of %s [%d] = %.17g, scipy %.17g", c.Name, unit, dist, name, k, v/size, want[k])
						}
					}
					rdms[name] = r
				}
				for _, cmp := range []Comparison{Spearman, Pearson} {
					got, err := Compare(rdms["x"], rdms["y"], cmp)
					if want := c.Scores[string(cmp)+"_"+string(dist)]; err != nil || !within(got, want, 1e-12) {
						t.Errorf("%s in units of %g: %s of %s RDMs %.17g, %v; scipy %.17g", c.Name, unit, cmp, dist, got, err, want)
					}
				}
			}
			if got, err := LinearCKA(ctx, x, y); err != nil || !within(got, c.CKA, 1e-12) {
				t.Errorf("%s in units of %g: CKA %.17g, %v; NumPy %.17g", c.Name, unit, got, err, c.CKA)
			}
			if c.CKADebiased != nil {
				if got, err := LinearDebiasedCKA(ctx, x, y); err != nil || !within(got, *c.CKADebiased, 1e-12) {
					t.Errorf("%s in units of %g: debiased CKA %.17g, %v; exact %.17g", c.Name, unit, got, err, *c.CKADebiased)
				}
			}
		}
	}
}

// TestRowSizesDoNotMatter: the correlation distance does not see a stimulus's size or offset,
// so the fixtures' rows each scaled by 1e-60 or 1e60 and shifted by a few times that give
// SciPy's RDM of the rows as they were: rows are standardised one by one, not only scaled with
// the whole matrix (a row of 1e-60 beside one of 1e60 is 1e-120 of the largest value, whose
// square would underflow).
func TestRowSizesDoNotMatter(t *testing.T) {
	ctx := context.Background()
	for _, c := range loadFixtures(t) {
		v := make([]float64, len(c.X))
		for i := range c.N {
			size := math.Pow(10, float64(60*(1-2*(i%2))))
			for j := range c.D {
				v[i*c.D+j] = (c.X[i*c.D+j] + float64(i%3)) * size
			}
		}
		r, err := NewRDM(ctx, engine.NewMatrix64(c.N, c.D, v), Correlation)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		for k, got := range r.Values {
			if want := c.RDMs["rdm_x_correlation"][k]; !within(got, want, 1e-12) {
				t.Errorf("%s, rows of 1e-60 and 1e60: [%d] = %.17g, scipy %.17g", c.Name, k, got, want)
			}
		}
	}
}

// TestEuclideanZeroData: data that are all zero have Euclidean distances of 0 (and no CKA).
func TestEuclideanZeroData(t *testing.T) {
	ctx := context.Background()
	zero := engine.NewMatrix64(4, 3, make([]float64, 12))
	r, err := NewRDM(ctx, zero, Euclidean)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.Values {
		if v != 0 {
			t.Errorf("[%d] = %v, want 0", k, v)
		}
	}
	if _, err := LinearCKA(ctx, zero, zero); !errors.Is(err, ErrNoVariance) {
		t.Errorf("CKA of zeros: %v", err)
	}
}

// TestNearConstantRows: a stimulus is constant when the root mean square of its deviations
// from its mean is at most 1e-13 of the mean (rounding of a constant). One value of 40 off by
// a share ρ of the rest deviates by a root mean square of ρ sqrt(p - 1) / p of the mean: three
// times the bound is taken, a third of it is constant, wherever the value is among the column
// chunks and whichever the row. A constant of 0.1 over 300,000 targets, whose mean is not 0.1
// to 1e-13 when summed, is constant too.
func TestNearConstantRows(t *testing.T) {
	ctx := context.Background()
	smallBlocks(t) // 40 columns in chunks of 16
	r := rand.New(rand.NewPCG(33, 34))
	const n, p = 4, 40
	bound := 1e-13 * p / math.Sqrt(p-1)
	for _, col := range []int{0, 20, p - 1} {
		for _, row := range []int{0, 1, 3} {
			for _, c := range []struct {
				rho      float64
				constant bool
			}{{3 * bound, false}, {bound / 3, true}} {
				v := randomMatrix(r, n, p)
				for j := range p {
					v[row*p+j] = 0.1
				}
				v[row*p+col] = 0.1 * (1 + c.rho)
				_, err := NewRDM(ctx, engine.NewMatrix64(n, p, v), Correlation)
				var cr *ConstantRowError
				if isConst := errors.As(err, &cr) && cr.Row == row; isConst != c.constant || !isConst && err != nil {
					t.Errorf("row %d off by %.3g at column %d: %v; constant: %v", row, c.rho, col, err, c.constant)
				}
			}
		}
	}
	const many = 300000
	v := randomMatrix(r, 3, many)
	for j := range many {
		v[many+j] = 0.1
	}
	var cr *ConstantRowError
	if _, err := NewRDM(ctx, engine.NewMatrix64(3, many, v), Correlation); !errors.As(err, &cr) || cr.Row != 1 {
		t.Errorf("0.1 over %d targets: %v", many, err)
	}
}

// TestCKAConstantManyColumns: constant data of more columns than a chunk (each chunk's column
// means start afresh) are ErrNoVariance, not a CKA of rounding.
func TestCKAConstantManyColumns(t *testing.T) {
	ctx := context.Background()
	smallBlocks(t)
	r := rand.New(rand.NewPCG(35, 36))
	const n, p = 10, 50
	c := make([]float64, n*p)
	for i := range c {
		c[i] = 0.1 * float64(1+i%p)
		if i%p < 16 { // the first chunk's means far from the next's
			c[i] *= 1e4
		}
	}
	x := engine.NewMatrix64(n, 3, randomMatrix(r, n, 3))
	for name, f := range map[string]func(context.Context, engine.Matrix, engine.Matrix) (float64, error){"CKA": LinearCKA, "debiased CKA": LinearDebiasedCKA} {
		if got, err := f(ctx, x, engine.NewMatrix64(n, p, c)); !errors.Is(err, ErrNoVariance) {
			t.Errorf("%s of constant columns 1e3, 2e3, ..., 1.6e4, 1.7, 1.8, ..., 5: %v, %v; want ErrNoVariance", name, got, err)
		}
	}
}

// TestEuclideanRecomputedBound: pairs closer than a sixteenth of their squared distances from
// the centroid are recomputed, others not. Stimuli (1, 0), (1, δ), (-1, 0), (-1, -δ) have
// their centroid at 0; pairs (0, 1) and (2, 3) are δ apart with squared distances from it of
// 2 + δ² (recomputed when 16 δ² < 2 + δ², δ² < 2/15), the other pairs 2 or more apart with
// 2 + δ² or less from it. Random stimuli, no closer than to the centroid, are not recomputed.
func TestEuclideanRecomputedBound(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		share      float64
		recomputed int
	}{{0.97, 2}, {1.03, 0}} {
		delta := math.Sqrt(2.0 / 15 * c.share)
		x := []float64{1, 0, 1, delta, -1, 0, -1, -delta}
		r, err := NewRDM(ctx, engine.NewMatrix64(4, 2, x), Euclidean)
		if err != nil {
			t.Fatal(err)
		}
		if r.Recomputed != c.recomputed {
			t.Errorf("δ² = %.3g (2/15 at %v): %d pairs recomputed, want %d", delta*delta, 2.0/15, r.Recomputed, c.recomputed)
		}
		for _, p := range []struct {
			i, j int
			d    float64
		}{{0, 1, delta}, {2, 3, delta}, {0, 2, 2}, {0, 3, math.Sqrt(4 + delta*delta)}, {1, 3, math.Sqrt(4 + 4*delta*delta)}} {
			if got := r.At(p.i, p.j); !within(got, p.d, 1e-15) {
				t.Errorf("δ = %v: d(%d, %d) = %.17g, want %.17g", delta, p.i, p.j, got, p.d)
			}
		}
	}
	r := rand.New(rand.NewPCG(37, 38))
	if rdm, err := NewRDM(ctx, engine.NewMatrix64(30, 20, randomMatrix(r, 30, 20)), Euclidean); err != nil || rdm.Recomputed != 0 {
		t.Errorf("random stimuli: %v recomputed, %v", rdm.Recomputed, err)
	}
}

// TestRDMAt: At is symmetric and 0 on the diagonal.
func TestRDMAt(t *testing.T) {
	r := &RDM{N: 4, Values: []float64{1, 2, 3, 4, 5, 6}}
	for i := range 4 {
		if r.At(i, i) != 0 {
			t.Errorf("At(%d, %d) = %v", i, i, r.At(i, i))
		}
		for j := range 4 {
			if i != j && r.At(i, j) != r.At(j, i) {
				t.Errorf("At(%d, %d) = %v, At(%d, %d) = %v", i, j, r.At(i, j), j, i, r.At(j, i))
			}
		}
	}
	if r.At(1, 3) != 5 {
		t.Errorf("At(1, 3) = %v, want 5", r.At(1, 3))
	}
}

// TestCorrelationDistanceRange: correlation distances lie in [0, 2], at the ends too: a row
// against a scaled and shifted copy of itself is 0 apart and against a negated copy 2, where
// rounding alone would go past (r a few 1e-16 beyond ±1).
func TestCorrelationDistanceRange(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(39, 40))
	for range 30 {
		p := 3 + r.IntN(40)
		base := randomMatrix(r, 1, p)
		v := make([]float64, 4*p)
		a, b := 0.1+5*r.Float64(), 10*r.NormFloat64()
		for j, x := range base {
			v[j], v[p+j], v[2*p+j], v[3*p+j] = x, a*x+b, -a*x+b, r.NormFloat64()
		}
		rdm, err := NewRDM(ctx, engine.NewMatrix64(4, p, v), Correlation)
		if err != nil {
			t.Fatal(err)
		}
		if d := rdm.At(0, 1); d < 0 || d > 1e-15 {
			t.Errorf("%d targets: a scaled and shifted copy %.17g apart, want 0", p, d)
		}
		if d := rdm.At(0, 2); d > 2 || d < 2-1e-15 {
			t.Errorf("%d targets: a negated copy %.17g apart, want 2", p, d)
		}
	}
}

// TestEuclideanCancelledOrReleased: Euclidean stops when its context is done, and fails once
// the Gram matrix's data are released.
func TestEuclideanCancelledOrReleased(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	g, err := CentredGram(context.Background(), engine.NewMatrix64(5, 3, randomMatrix(r, 5, 3)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.Euclidean(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	g.Release()
	if _, err := g.Euclidean(context.Background()); err == nil || !strings.Contains(err.Error(), "released") {
		t.Errorf("released: %v", err)
	}
}
