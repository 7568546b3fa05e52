package array

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// The readers convert data (float16 and bfloat16 to float32, byte swaps, integers to floats,
// Fortran to C order) on every core: activations of a 7B model's layer are 41M values, a
// subject's brain data billions, and on one core the rest of an HPC node would wait. Each value's
// conversion is its own, so the values are the same bits on any number of cores; arrays of one
// block or less are converted on the caller's goroutine.

// blockValues is how many values a worker converts or touches at a time: below it, an array is
// converted on one core. A variable for the tests.
var blockValues = 1 << 20

// eachBlock calls fn with every block number of [0, blocks), on every core: each worker takes the
// next block not yet taken, so that blocks of uneven cost keep the cores busy. One block runs on
// the caller's goroutine.
func eachBlock(blocks int, fn func(b int)) {
	if blocks <= 1 {
		if blocks == 1 {
			fn(0)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), blocks) {
		wg.Go(func() {
			for b := int(next.Add(1) - 1); b < blocks; b = int(next.Add(1) - 1) {
				fn(b)
			}
		})
	}
	wg.Wait()
}

// inBlocks calls fn with blocks of blockValues of the range [0, n), on every core.
func inBlocks(n int, fn func(start, end int)) {
	per := blockValues
	eachBlock((n+per-1)/per, func(b int) { fn(b*per, min(n, (b+1)*per)) })
}
