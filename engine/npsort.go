package engine

import "math/bits"

// numpy's default argsort, written out so that GroupKFold orders equal-sized groups as
// scikit-learn does: np.argsort(kind="quicksort") is an introsort, not stable, and the order it
// leaves equal values in decides which of several equal-sized groups is dealt first. These
// follow numpy's scalar npysort aquicksort_ and aheapsort_ step for step: the argsort of numpy
// before 1.25, and of every numpy on ARM. numpy 1.25 and later on AVX-512 CPUs, and 2.0 and later
// on AVX2 CPUs, argsort 64-bit integers with x86-simd-sort's vectorised code (sorting networks
// for short arrays too, so not even 16 equal values need keep their order), whose order of ties
// differs from this, and between those two.

// numpySmallQuicksort is numpy's SMALL_QUICKSORT: partitions of at most 16 elements are finished
// by insertion sort, which keeps equal values in order (so fewer than 17 groups sort stably).
const numpySmallQuicksort = 15

// onIntrosortFallback, when set (by tests), is called each time numpyArgsort hands a part to
// the heapsort fallback.
var onIntrosortFallback func()

// numpyArgsort returns the indices that sort v ascending, equal values in the order numpy's
// np.argsort(v) leaves them.
func numpyArgsort(v []int) []int {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	if len(v) < 2 {
		return idx
	}
	type span struct{ lo, hi, depth int }
	var stack []span
	lo, hi := 0, len(v)-1
	// numpy's depth limit: twice the position of the length's most significant bit.
	depth := 2 * (bits.Len(uint(len(v))) - 1)
	less := func(a, b int) bool { return v[a] < v[b] }
	for {
		if depth < 0 {
			if onIntrosortFallback != nil {
				onIntrosortFallback()
			}
			numpyArgHeapsort(v, idx[lo:hi+1])
		} else {
			for hi-lo > numpySmallQuicksort {
				// Median of three, the pivot parked at hi-1.
				mid := lo + (hi-lo)>>1
				if less(idx[mid], idx[lo]) {
					idx[mid], idx[lo] = idx[lo], idx[mid]
				}
				if less(idx[hi], idx[mid]) {
					idx[hi], idx[mid] = idx[mid], idx[hi]
				}
				if less(idx[mid], idx[lo]) {
					idx[mid], idx[lo] = idx[lo], idx[mid]
				}
				pivot := v[idx[mid]]
				i, j := lo, hi-1
				idx[mid], idx[j] = idx[j], idx[mid]
				for {
					for i++; v[idx[i]] < pivot; i++ {
					}
					for j--; pivot < v[idx[j]]; j-- {
					}
					if i >= j {
						break
					}
					idx[i], idx[j] = idx[j], idx[i]
				}
				idx[i], idx[hi-1] = idx[hi-1], idx[i]
				// The larger side waits on the stack; the smaller is partitioned next.
				depth--
				if i-lo < hi-i {
					stack = append(stack, span{i + 1, hi, depth})
					hi = i - 1
				} else {
					stack = append(stack, span{lo, i - 1, depth})
					lo = i + 1
				}
			}
			for i := lo + 1; i <= hi; i++ {
				x := idx[i]
				j := i
				for ; j > lo && v[x] < v[idx[j-1]]; j-- {
					idx[j] = idx[j-1]
				}
				idx[j] = x
			}
		}
		if len(stack) == 0 {
			return idx
		}
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		lo, hi, depth = s.lo, s.hi, s.depth
	}
}

// numpyArgHeapsort sorts the indices idx by their values in v as numpy's aheapsort_ does
// (np.argsort(kind="heapsort") on the whole array; the introsort's fallback on a part).
func numpyArgHeapsort(v, idx []int) {
	n := len(idx)
	// a[1..n] is idx[0..n-1]: numpy's heap counts from one.
	at := func(k int) *int { return &idx[k-1] }
	sift := func(i, n, x int) {
		for j := 2 * i; j <= n; {
			if j < n && v[*at(j)] < v[*at(j + 1)] {
				j++
			}
			if v[x] < v[*at(j)] {
				*at(i) = *at(j)
				i = j
				j += j
			} else {
				break
			}
		}
		*at(i) = x
	}
	for l := n >> 1; l > 0; l-- {
		sift(l, n, *at(l))
	}
	for ; n > 1; n-- {
		x := *at(n)
		*at(n) = *at(1)
		sift(1, n-1, x)
	}
}
