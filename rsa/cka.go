package rsa

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/brainalign/brainalign/engine"
)

// ErrNoVariance is wrapped by the error of CKA with data that do not vary across stimuli (every
// column constant): its centred Gram matrix is zero.
var ErrNoVariance = errors.New("every feature or target is constant across the stimuli")

// CKA returns linear CKA of the data of two centred Gram matrices of the same stimuli,
//
//	CKA = tr(Kx Ky) / (||Kx||_F ||Ky||_F),
//
// summed over the diagonals and twice the upper triangles (both are symmetric). It is the
// biased (V-statistic) HSIC estimator's CKA of Kornblith et al. 2019, as their code and
// rsatoolbox's compute it; debiased CKA (Song et al. 2012's unbiased HSIC) is not this number.
func CKA(x, y *Gram) (float64, error) {
	if x.N != y.N {
		return math.NaN(), fmt.Errorf("rsa: CKA of %d and %d stimuli", x.N, y.N)
	}
	tr, xx, yy := 0.0, 0.0, 0.0
	for i, a := range x.Diag {
		b := y.Diag[i]
		tr, xx, yy = tr+a*b, xx+a*a, yy+b*b
	}
	tu, xu, yu := 0.0, 0.0, 0.0
	for k, a := range x.Upper {
		b := y.Upper[k]
		tu, xu, yu = tu+a*b, xu+a*a, yu+b*b
	}
	tr, xx, yy = tr+2*tu, xx+2*xu, yy+2*yu
	switch {
	case xx == 0:
		return math.NaN(), fmt.Errorf("rsa: CKA: the first data: %w", ErrNoVariance)
	case yy == 0:
		return math.NaN(), fmt.Errorf("rsa: CKA: the second data: %w", ErrNoVariance)
	}
	return tr / (math.Sqrt(xx) * math.Sqrt(yy)), nil
}

// LinearCKA is CKA of x (n x d) and y (n x m), through their n x n centred Gram matrices.
func LinearCKA(ctx context.Context, x, y engine.Matrix) (float64, error) {
	if x.Rows != y.Rows {
		return math.NaN(), fmt.Errorf("rsa: CKA of %d and %d stimuli", x.Rows, y.Rows)
	}
	gx, err := CentredGram(ctx, x)
	if err != nil {
		return math.NaN(), err
	}
	gy, err := CentredGram(ctx, y)
	if err != nil {
		return math.NaN(), err
	}
	return CKA(gx, gy)
}
