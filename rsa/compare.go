package rsa

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"github.com/brainalign/brainalign/stats"
)

// Comparison is how two RDMs are compared, over their upper triangles.
type Comparison string

const (
	// Spearman is Spearman's rho, ties given their average rank (scipy.stats.spearmanr; rankTies
	// says what counts as a tie): only the order of the dissimilarities counts, as RSA's founders
	// advise (Kriegeskorte et al. 2008; Nili et al. 2014), since no linear relation between two
	// RDMs is expected.
	Spearman Comparison = "spearman"
	// Pearson is Pearson's r (scipy.stats.pearsonr).
	Pearson Comparison = "pearson"
)

// ParseComparison reads a comparison's name.
func ParseComparison(s string) (Comparison, error) {
	switch c := Comparison(s); c {
	case Spearman, Pearson:
		return c, nil
	}
	return "", fmt.Errorf("unknown comparison %q (want spearman or pearson)", s)
}

// ErrConstantRDM is wrapped by the error of comparing an RDM whose dissimilarities are all
// equal: its correlation with anything is undefined.
var ErrConstantRDM = errors.New("all its dissimilarities are equal")

// Compare returns the RSA score of two RDMs of the same stimuli: Spearman's rho or Pearson's r of
// their upper triangles. A constant RDM is an error wrapping ErrConstantRDM, saying which.
func Compare(a, b *RDM, c Comparison) (float64, error) {
	if err := checkPair(a, b); err != nil {
		return math.NaN(), err
	}
	var va, vb []float64
	switch c {
	case Spearman:
		va, vb = rankTies(a.Values, tieFloor(a.Distance)), rankTies(b.Values, tieFloor(b.Distance))
	case Pearson:
		va, vb = a.Values, b.Values
	default:
		return math.NaN(), fmt.Errorf("rsa: unknown comparison %q", c)
	}
	r, _, err := stats.Pearson(va, vb)
	if errors.Is(err, stats.ErrConstantInput) {
		return math.NaN(), constantError(va, vb)
	}
	return r, err
}

func checkPair(a, b *RDM) error {
	if a.N != b.N {
		return fmt.Errorf("rsa: RDMs of %d and %d stimuli", a.N, b.N)
	}
	if a.N < MinStimuli {
		return fmt.Errorf("rsa: RDMs of %d stimuli; need at least %d", a.N, MinStimuli)
	}
	return nil
}

// constantError says which of the values compared, va or vb (Spearman's ranks, whose ties are
// tieTol's: an RDM equal up to rounding is constant there), is constant.
func constantError(va, vb []float64) error {
	which := "the second"
	if isConstant(va) {
		which = "the first"
	}
	return fmt.Errorf("rsa: %s RDM is constant (%w): its correlation with the other is undefined", which, ErrConstantRDM)
}

func isConstant(v []float64) bool {
	for _, x := range v {
		if x != v[0] {
			return false
		}
	}
	return true
}

// tieTol is how close, as a share of their size, two dissimilarities rank as ties. The products
// round each dissimilarity, so pairs that the data make exactly equal (integer or repeated data,
// patterns that are scaled and shifted copies, equal Euclidean distances) would otherwise be
// ranked apart by rounding. A Euclidean distance is rounded by a few units of its own precision
// (pairs that cancellation would spoil are recomputed from the data), so its size is its own:
// small distances beside a large one stay distinct. A correlation distance 1 - r is rounded by a
// few units of r's precision, whatever its own size (0 comes out as 0 or a few 1e-16), so its
// size is at least 1 (tieFloor).
const tieTol = 1e-12

// tieFloor is the smallest size tieTol is taken of for an RDM's dissimilarities: 1 for
// correlation distances (rounded as r, which is of size 1), 0 for Euclidean ones.
func tieFloor(d Distance) float64 {
	if d == Correlation {
		return 1
	}
	return 0
}

// rankTies ranks v from 1 (scipy.stats.rankdata's 'average'), values within tieTol of the
// smallest of their group (relative to the larger magnitude, or to floor if larger) counted as
// equal. The indices sorted are int32, half the memory of ints (50 million pairs at 10,000
// stimuli).
func rankTies(v []float64, floor float64) []float64 {
	idx := make([]int32, len(v))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int { return cmp.Compare(v[a], v[b]) })
	ranks := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && v[idx[j]]-v[idx[i]] <= tieTol*max(math.Abs(v[idx[i]]), math.Abs(v[idx[j]]), floor) {
			j++
		}
		avg := float64(i+1+j) / 2 // positions i..j-1 hold ranks i+1..j
		for _, k := range idx[i:j] {
			ranks[k] = avg
		}
		i = j
	}
	return ranks
}

// Test is an RSA score with its permutation p-value.
type Test struct {
	R            float64 // Compare's score
	P            float64 // one-sided: (1 + #{r_perm >= r}) / (1 + Permutations)
	Permutations int
	Seed         uint64
}

// permutationTol absorbs rounding when a permutation's score equals the observed one exactly in
// exact arithmetic (an RDM with symmetries, the few stimuli of a small test).
const permutationTol = 1e-12

// Mantel returns Compare's score of a and b and its one-sided p-value by a Mantel test: the
// stimuli of b are permuted (rows and columns together) permutations times, and p is the share of
// scores at least the observed one, counting the observed: (1 + k) / (1 + permutations), never
// 0, at least 1 / (1 + permutations). Permutation k is drawn from PCG(seed, k), so the p-value
// depends on the seed and the count only, not on the cores. Each permutation costs one pass
// over the n(n-1)/2 pairs: O(permutations n²) time in all. For Spearman, ranks are taken once:
// permuting stimuli permutes the ranks. The p-value is valid where the parametric one of the
// RDMs' correlation is not (the n(n-1)/2 dissimilarities are not independent).
func Mantel(ctx context.Context, a, b *RDM, c Comparison, permutations int, seed uint64) (Test, error) {
	r, err := Compare(a, b, c)
	if err != nil {
		return Test{}, err
	}
	t := Test{R: r, P: math.NaN(), Permutations: permutations, Seed: seed}
	if permutations <= 0 {
		return t, nil
	}
	za, zb := a.Values, b.Values
	if c == Spearman {
		za, zb = rankTies(za, tieFloor(a.Distance)), rankTies(zb, tieFloor(b.Distance))
	}
	za, zb = standardise(za), standardise(zb)
	n := a.N
	identity := make([]int, n)
	for i := range identity {
		identity[i] = i
	}
	observed := permutedDot(za, zb, n, identity)
	workers := min(runtime.GOMAXPROCS(0), permutations)
	counts := make([]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < permutations; k += workers {
				if ctx.Err() != nil {
					return
				}
				perm := rand.New(rand.NewPCG(seed, uint64(k))).Perm(n)
				if permutedDot(za, zb, n, perm) >= observed-permutationTol {
					counts[w]++
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Test{}, err
	}
	k := 0
	for _, c := range counts {
		k += c
	}
	t.P = float64(1+k) / float64(1+permutations)
	return t, nil
}

// standardise centres v and scales it to unit length, so that a dot product is Pearson's r.
func standardise(v []float64) []float64 {
	m := 0.0
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	ss := 0.0
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	s := 1 / math.Sqrt(ss)
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = (x - m) * s
	}
	return out
}

// permutedDot is sum over pairs i < j of a(i, j) b(perm_i, perm_j), both condensed.
func permutedDot(a, b []float64, n int, perm []int) float64 {
	s := 0.0
	for i := range n {
		pi := perm[i]
		rowA := a[CondensedIndex(n, i, i+1) : CondensedIndex(n, i, i+1)+n-i-1]
		rowStart := n*pi - pi*(pi+1)/2 - pi - 1 // b(pi, q) for q > pi at rowStart + q
		for k, v := range rowA {
			q := perm[i+1+k]
			var idx int
			if q > pi {
				idx = rowStart + q
			} else {
				idx = n*q - q*(q+1)/2 + pi - q - 1
			}
			s += v * b[idx]
		}
	}
	return s
}
