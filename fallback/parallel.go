package fallback

import (
	"runtime"
	"sync"
)

// parallelFor splits [0, n) into one contiguous chunk per core and runs body on each chunk
// concurrently; body gets its worker index so it can keep private accumulators.
func parallelFor(n int, body func(worker, lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		if n > 0 {
			body(0, 0, n)
		}
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*n/workers, (w+1)*n/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(w, lo, hi)
		}()
	}
	wg.Wait()
}

// workers is the number of chunks parallelFor uses for n items.
func workers(n int) int { return max(1, min(runtime.GOMAXPROCS(0), n)) }

// chunkColumns is the width of chunks of n columns processed one after another by each core: most,
// or fewer (a multiple of 16, a cache line of float32, at least 16) where chunks of most would
// give the cores fewer than 4 each, some of them one more than others. The width changes no
// result: each column's sums are its own.
func chunkColumns(n, most int) int {
	want := 4 * runtime.GOMAXPROCS(0)
	if (n+most-1)/most >= want {
		return most
	}
	return min(most, max(16, ((n+want-1)/want+15)/16*16))
}
