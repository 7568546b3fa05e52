package engine

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ConstantFirst turns an orthonormal basis whose span holds the constant direction into one
// whose first column is that direction and whose others are orthogonal to it, in either layout;
// a span without it is left alone.
func TestConstantFirst(t *testing.T) {
	const rows, cols = 9, 4
	r := rand.New(rand.NewPCG(1, 2))
	// an orthonormal basis of span{e, three random vectors}, by Gram-Schmidt, mixed by a rotation
	// so that no column is e
	vecs := [][]float64{make([]float64, rows)}
	for i := range rows {
		vecs[0][i] = 1
	}
	for range cols - 1 {
		v := make([]float64, rows)
		for i := range v {
			v[i] = r.NormFloat64()
		}
		vecs = append(vecs, v)
	}
	for j := range vecs {
		for k := range j {
			dot := 0.0
			for i := range rows {
				dot += vecs[j][i] * vecs[k][i]
			}
			for i := range rows {
				vecs[j][i] -= dot * vecs[k][i]
			}
		}
		n := 0.0
		for _, x := range vecs[j] {
			n += x * x
		}
		for i := range rows {
			vecs[j][i] /= math.Sqrt(n)
		}
	}
	c, s := math.Cos(0.7), math.Sin(0.7)
	vecs[0], vecs[1] = mix(vecs[0], vecs[1], c, s), mix(vecs[0], vecs[1], -s, c)
	// the reflection's sign follows that of the first column's constant component: both signs
	flipped := make([]float64, rows)
	for i := range rows {
		flipped[i] = -vecs[0][i]
	}
	for _, layout := range []struct {
		name, rowMajor string
		first          []float64
	}{{"row-major", "y", vecs[0]}, {"column-major", "", vecs[0]}, {"row-major, first column negated", "y", flipped}, {"column-major, first column negated", "", flipped}} {
		vecs := append([][]float64{layout.first}, vecs[1:]...)
		q := make([]float64, rows*cols)
		rs, cs := cols, 1
		if layout.rowMajor == "" {
			rs, cs = 1, rows
		}
		for i := range rows {
			for j := range cols {
				q[i*rs+j*cs] = vecs[j][i]
			}
		}
		if !ConstantFirst(q, rows, cols, rs, cs) {
			t.Fatalf("%s: the span holds the constant direction", layout.name)
		}
		for j := range cols {
			for k := range cols {
				dot := 0.0
				for i := range rows {
					dot += q[i*rs+j*cs] * q[i*rs+k*cs]
				}
				if want := float64(bool2int(j == k)); math.Abs(dot-want) > 1e-14 {
					t.Errorf("%s: columns %d, %d: dot %v, want %v", layout.name, j, k, dot, want)
				}
			}
			sum := 0.0
			for i := range rows {
				sum += q[i*rs+j*cs]
			}
			if j == 0 && math.Abs(math.Abs(sum)-math.Sqrt(rows)) > 1e-13 || j > 0 && math.Abs(sum) > 1e-13 {
				t.Errorf("%s: column %d sums to %v", layout.name, j, sum)
			}
		}
	}
	// a span without the constant direction: unchanged
	q := make([]float64, rows*2)
	for i := range rows {
		q[2*i], q[2*i+1] = float64(i%2)*2-1, 0
	}
	q[1] = 1
	before := append([]float64(nil), q...)
	if ConstantFirst(q, rows, 2, 2, 1) {
		t.Error("a span without the constant direction was rotated")
	}
	for i := range q {
		if q[i] != before[i] {
			t.Fatal("a span without the constant direction was changed")
		}
	}
}

func mix(a, b []float64, c, s float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = c*a[i] + s*b[i]
	}
	return out
}

func bool2int(b bool) int {
	if b {
		return 1
	}
	return 0
}
