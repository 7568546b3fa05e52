// Package lapackref gives tests LAPACK's own routines as a reference, in the openblas build
// only (cgo, OpenBLAS's LAPACKE). In the default build it is empty.
package lapackref
