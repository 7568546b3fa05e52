// Package bench defines the synthetic workloads brainalign is measured on (small, medium, and the
// GPU-scale W1 fMRI and W2 MEG problems of the CUDA issue), generates their data with a planted
// low-rank signal, and holds the Go benchmarks that compare engines on them. `brainalign bench`
// runs the same workloads from the command line. Measured figures live in RESULTS.md beside this
// file, with the machine they were measured on.
package bench
