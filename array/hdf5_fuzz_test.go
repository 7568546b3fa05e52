package array

import (
	"testing"
)

// FuzzReadHDF5 asserts that a corrupt HDF5 file is an error, never a panic or a hang, and that
// what decodes is consistent. Seeds: the fixtures of testdata/hdf5, whole and cut.
func FuzzReadHDF5(f *testing.F) {
	addSeeds(f, hdf5Dir, "*.h5", "*.hdf5", "*.mat")
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, open := range []func(string, []byte, *mapping) (*File, error){openHDF5, openMAT} {
			file, err := open("fuzz.h5", b, nil)
			if err != nil {
				continue
			}
			for _, e := range file.Arrays() {
				a, err := file.Read(e.Name)
				checkTargetsOf(t, file, e, a) // the same values where both read
				if err != nil {
					continue
				}
				if len(a.Shape) != len(e.Shape) {
					t.Fatalf("%s: shape %v, entry says %v", e.Name, a.Shape, e.Shape)
				}
				checkDecoded(t, a)
			}
		}
	})
}
