package ceiling

import (
	"fmt"
	"math"
	"strings"

	"github.com/brainalign/brainalign/array"
)

// Read reads noise ceilings as brainalign ceiling writes them (ceiling.npy: one value per
// target, from 0 to 1, NaN where a target has none), flattened in C order as targets are. Several
// files are the ceilings of brain data joined from several files (hemispheres), one after
// another. A CIFTI or GIFTI file (ceiling.dscalar.nii, ceiling.func.gii) is one map over its
// grayordinates or vertices, read as they are shaped. shape is the file's shape (flat, the total, for several files), and sizes the number
// of values of each file, for checks against the brain files they stand for.
func Read(paths ...string) (values []float64, shape, sizes []int, err error) {
	if len(paths) == 0 {
		return nil, nil, nil, fmt.Errorf("no noise ceiling file")
	}
	for _, path := range paths {
		v, sh, err := readOne(path)
		if err != nil {
			return nil, nil, nil, err
		}
		values, shape, sizes = append(values, v...), sh, append(sizes, len(v))
	}
	if len(paths) > 1 {
		shape = []int{len(values)}
	}
	return values, shape, sizes, nil
}

func readOne(path string) ([]float64, []int, error) {
	arrs, err := array.Read(path)
	if err != nil {
		return nil, nil, err
	}
	defer array.CloseAll(arrs)
	if len(arrs) != 1 {
		return nil, nil, fmt.Errorf("%s: holds %d arrays, want one noise ceiling per target", path, len(arrs))
	}
	a := arrs[0]
	if a.F32 == nil && a.F64 == nil {
		return nil, nil, fmt.Errorf("%s: %s data, want float32 or float64 ceilings", path, a.DType)
	}
	shape := append([]int(nil), a.Shape...)
	if g := a.Geometry; g != nil && g.OfMaps() { // maps x targets: one map is the targets' vector
		if a.Shape[0] != 1 {
			return nil, nil, fmt.Errorf("%s: a %s file of %d maps: want one noise ceiling map", path, strings.ToUpper(g.Format), a.Shape[0])
		}
		shape = append([]int(nil), g.Spatial...)
	} else if a.OneFrame() { // a volume stored as one frame of a 4-d NIfTI file
		shape = append([]int(nil), a.Geometry.Spatial...)
	}
	m, err := a.Matrix()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	flat := make([]float64, m.Rows*m.Cols) // in C order, as the targets are (Matrix copies Fortran data into C order)
	for i := range m.Rows {
		for j := range m.Cols {
			flat[i*m.Cols+j] = m.At(i, j)
		}
	}
	for j, v := range flat {
		if v < 0 || v > 1 || math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("%s: value %g at target %d is not a ceiling on r (want 0 to 1, or NaN)", path, v, j)
		}
	}
	return flat, shape, nil
}
