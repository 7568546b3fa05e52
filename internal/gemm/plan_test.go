package gemm

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// oneDimension is the split of C before grids: by columns when it has enough column tiles, else
// by rows.
func oneDimension(m, n, k, mr, nr, threads int) grid {
	if threads <= 1 || m*n*k < minParallelWork {
		return grid{1, 1}
	}
	mt, nt := (m+mr-1)/mr, (n+nr-1)/nr
	if nt >= 2*threads || nt >= mt {
		return grid{1, min(threads, nt)}
	}
	return grid{min(threads, mt), 1}
}

// The CPU engine's products at the study's shapes (op(A) m x k times k x n, n the targets of a
// batch where it is one): fMRI (8,000 training rows, 4,096 features, 100,000 targets), MEG
// (17,958 rows, 28,726 targets), 500 images of 4,096 features, and narrower ones.
var engineProducts = []struct {
	name    string
	m, n, k int
}{
	{"fMRI Z = U^T Yc", 4096, 100000, 8000},
	{"fMRI U diag(f) Z", 8000, 100000, 4096},
	{"fMRI held-out P gz", 2000, 100000, 4096},
	{"MEG U diag(f) Z", 17958, 28726, 4096},
	{"500 images U diag(f) Z", 400, 300000, 399},
	{"fMRI U = Xc V", 8000, 4096, 4096},
	{"fMRI Gram block", 512, 4096, 8000},
	{"fMRI last Gram block", 512, 512, 8000},
	{"held-out kernel, 500 images", 100, 400, 4096},
	{"Gram block of 1,000 wide images", 512, 464, 50000},
	{"5,000 targets of 8,000 rows", 8000, 5000, 4096},
}

// TestPlanGrid: on 2 cores every product is split as before grids (one dimension); on 128, no
// goroutine gets more than twice an even share of the tiles (a product of few row or column
// tiles ran on 37 or 13 of them before, the busiest with 3-8 times its share), and a batch of
// 5,000 targets no longer has each of 128 row ranges pack all of B (1.1 GB of buffers, and half
// as long as their kernel's work). Every grid covers the tiles with at most one goroutine per
// core.
func TestPlanGrid(t *testing.T) {
	for _, ks := range kernelSets {
		for _, kn := range []struct {
			mr, nr, nc int
			es         int64
		}{{ks.k32.mr, ks.k32.nr, ks.k32.nc, 4}, {ks.k64.mr, ks.k64.nr, ks.k64.nc, 8}} {
			for _, p := range engineProducts {
				if g, want := planGrid(p.m, p.n, p.k, kn.mr, kn.nr, kn.nc, false, false, 2), oneDimension(p.m, p.n, p.k, kn.mr, kn.nr, 2); g != want {
					t.Errorf("%s, %s %d-byte: 2 cores split %v, want %v as before grids", ks.name, p.name, kn.es, g, want)
				}
				g := planGrid(p.m, p.n, p.k, kn.mr, kn.nr, kn.nc, false, false, 128)
				mt, nt := (p.m+kn.mr-1)/kn.mr, (p.n+kn.nr-1)/kn.nr
				if g.rows < 1 || g.cols < 1 || g.rows*g.cols > 128 || g.rows > mt || g.cols > nt {
					t.Errorf("%s, %s: grid %v of %d x %d tiles on 128 cores", ks.name, p.name, g, mt, nt)
				}
				// the busiest goroutine's tiles, against an even share
				if busiest, share := ((mt+g.rows-1)/g.rows)*((nt+g.cols-1)/g.cols), (mt*nt+127)/128; busiest > 2*share {
					t.Errorf("%s, %s %d-byte: %v of %d x %d tiles on 128 cores, %d tiles in the busiest goroutine against %d each if even", ks.name, p.name, kn.es, g, mt, nt, busiest, share)
				}
			}
		}
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(128))
	if kern32 == nil {
		t.Skip("no assembly kernels: gonum's products")
	}
	goroutines, each := Packing(8000, 5000, 4096, false, false, false)
	if held := int64(goroutines) * each; held > 300<<20 {
		t.Errorf("5,000 targets of 8,000 rows, float32, 128 cores: %d goroutines hold %d MiB of packing buffers", goroutines, held>>20)
	}
}

// TestPackingCoversHeld: the packing buffers that a product's goroutines hold, on 2 and 128
// cores, are within what Packing says (each goroutine's, and goroutines times that at once),
// which the CPU engine counts in its memory plan.
func TestPackingCoversHeld(t *testing.T) {
	if kern32 == nil {
		t.Skip("no assembly kernels: gonum's products, no packing")
	}
	rng := rand.New(rand.NewPCG(4, 4))
	for _, cores := range []int{2, 128} {
		for _, s := range [][3]int{{600, 2000, 300}, {2000, 300, 600}, {512, 512, 700}, {40, 5000, 100}} {
			m, n, k := s[0], s[1], s[2]
			a, b := make([]float64, m*k), make([]float64, k*n)
			for i := range a {
				a[i] = rng.NormFloat64()
			}
			for i := range b {
				b[i] = rng.NormFloat64()
			}
			a32, b32 := to32(a), to32(b)
			old := runtime.GOMAXPROCS(cores)
			for _, double := range []bool{false, true} {
				runtime.GC() // twice: sync.Pool keeps buffers over one collection
				runtime.GC()
				ResetPackPeak()
				if double {
					Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, make([]float64, m*n), n)
				} else {
					Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a32, k, b32, n, 0, make([]float32, m*n), n)
				}
				goroutines, each := Packing(m, n, k, double, false, false)
				if held, largest := PackPeak(); held == 0 || held > int64(goroutines)*each || largest > each {
					t.Errorf("%d x %d x %d, float64 %v, %d cores: %d bytes of packing held at once, at most %d by one goroutine; Packing counts %d goroutines x %d", m, n, k, double, cores, held, largest, goroutines, each)
				}
			}
			runtime.GOMAXPROCS(old)
		}
	}
}
