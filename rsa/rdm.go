package rsa

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/brainalign/brainalign/engine"
)

// Distance is the dissimilarity of two stimuli's response patterns.
type Distance string

const (
	// Correlation is 1 - Pearson r between the two rows (scipy's 'correlation'; Kriegeskorte et
	// al. 2008): blind to each pattern's mean and scale.
	Correlation Distance = "correlation"
	// Euclidean is ||x_i - x_j|| (scipy's 'euclidean'): sensitive to overall activation.
	Euclidean Distance = "euclidean"
)

// ParseDistance reads a distance's name.
func ParseDistance(s string) (Distance, error) {
	switch d := Distance(s); d {
	case Correlation, Euclidean:
		return d, nil
	}
	return "", fmt.Errorf("unknown distance %q (want correlation or euclidean)", s)
}

// RDM is a representational dissimilarity matrix of N stimuli, held as its strict upper triangle
// in the order of scipy.spatial.distance.pdist (squareform gives the square matrix).
type RDM struct {
	N        int
	Values   []float64 // N(N-1)/2 dissimilarities, pair (i, j) at CondensedIndex(N, i, j)
	Distance Distance
	// Recomputed counts the Euclidean pairs close enough, relative to their distances from the
	// centroid, that they were recomputed from the data rather than from the Gram matrix.
	Recomputed int
}

// At is the dissimilarity of stimuli i and j (0 when i == j).
func (r *RDM) At(i, j int) float64 {
	if i == j {
		return 0
	}
	return r.Values[CondensedIndex(r.N, i, j)]
}

// ConstantRowError is the error of a correlation distance to a stimulus whose values do not vary
// across the features or targets (or vary only by rounding): its Pearson r with any other
// stimulus is undefined.
type ConstantRowError struct {
	Row     int    // the stimulus, a row of the matrix
	Name    string // the matrix's name (a file)
	Targets int    // the row's values
}

func (e *ConstantRowError) Error() string {
	return fmt.Sprintf("rsa: %s: stimulus %d has the same value for all %d features or targets: its correlation distance to every other stimulus is undefined",
		orName(e.Name, "data"), e.Row, e.Targets)
}

// NewRDM computes the RDM of x (stimuli x features or targets, any length) by distance, through
// one product of the prepared rows with themselves, taken a slice of columns at a time (never a
// features x features matrix; memory Bytes(n) for the result and as much again for the
// products). Correlation distances are 1 - r with r the inner products of the centred rows scaled
// to unit length, clipped to [0, 2] as scipy's correlation does; a constant row is a
// *ConstantRowError. Euclidean distances are Gram.Euclidean of CentredGram.
func NewRDM(ctx context.Context, x engine.Matrix, d Distance) (*RDM, error) {
	switch d {
	case Correlation:
		diag, upper, _, err := gramOf(ctx, x, standardiseRows)
		if err != nil {
			return nil, err
		}
		n := x.Rows
		norm := make([]float64, n)
		for i, v := range diag {
			norm[i] = math.Sqrt(v) // 1 up to rounding: dividing by it keeps |r| <= 1
		}
		for i := range n {
			row := upper[CondensedIndex(n, i, i+1) : CondensedIndex(n, i, i+1)+n-i-1]
			for k := range row {
				r := row[k] / (norm[i] * norm[i+1+k])
				row[k] = min(2, max(0, 1-r))
			}
		}
		return &RDM{N: n, Values: upper, Distance: Correlation}, nil
	case Euclidean:
		g, err := CentredGram(ctx, x)
		if err != nil {
			return nil, err
		}
		return g.Euclidean(ctx)
	}
	return nil, fmt.Errorf("rsa: unknown distance %q", d)
}

// closeRatio is how close, as a share of d_i² + d_j² (their squared distances from the
// centroid), two stimuli's squared distance may come before it is recomputed from the data: the
// Gram matrix's d² = G_ii + G_jj - 2 G_ij loses about (G_ii + G_jj) / d² of float64's precision
// to cancellation, at most 16 times here (below 1e-13 relative error on the distance).
const closeRatio = 1.0 / 16

// Euclidean returns the Euclidean RDM of the Gram matrix's data, d_ij = sqrt(G_ii + G_jj -
// 2 G_ij), each pair closer than closeRatio of its distances from the centroid recomputed from
// the data, sqrt(sum_k (x_ik - x_jk)²), so that every distance is exact to a few units of
// rounding (scipy computes every pair so). Clustered stimuli far from the centroid make most
// pairs close, at O(p) each without the GEMM's speed.
func (g *Gram) Euclidean(ctx context.Context) (*RDM, error) {
	n := g.N
	if g.x.Rows != n {
		return nil, errors.New("rsa: Euclidean of a Gram matrix whose data were released")
	}
	rdm := &RDM{N: n, Values: make([]float64, len(g.Upper)), Distance: Euclidean}
	var rows []float64
	p := g.x.Cols
	for i := range n {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		base := CondensedIndex(n, i, i+1)
		for k, gij := range g.Upper[base : base+n-i-1] {
			j := i + 1 + k
			far := g.Diag[i] + g.Diag[j]
			d2 := far - 2*gij
			if d2 < closeRatio*far {
				if rows == nil {
					rows = make([]float64, 2*p)
				}
				g.x.GatherCols64([]int{i, j}, 0, p, rows)
				s := 0.0
				for c, v := range rows[:p] {
					e := (v - rows[p+c]) * g.Scale
					s += e * e
				}
				d2 = s
				rdm.Recomputed++
			}
			rdm.Values[base+k] = math.Sqrt(max(0, d2)) / g.Scale
		}
	}
	return rdm, nil
}
