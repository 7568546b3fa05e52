package engine

// numpyRNG is the Mersenne Twister MT19937 as numpy's legacy RandomState(seed) seeds and draws
// it, just enough to reproduce RandomState(seed).shuffle: scikit-learn's KFold(shuffle=True,
// random_state=seed) permutes rows with it, so --shuffle-seed gives the same folds.
type numpyRNG struct {
	mt  [624]uint32
	idx int
}

// newNumpyRNG seeds like numpy's RandomState(seed) for an integer seed (init_genrand).
func newNumpyRNG(seed uint32) *numpyRNG {
	r := &numpyRNG{idx: 624}
	r.mt[0] = seed
	for i := 1; i < 624; i++ {
		r.mt[i] = 1812433253*(r.mt[i-1]^(r.mt[i-1]>>30)) + uint32(i)
	}
	return r
}

func (r *numpyRNG) uint32() uint32 {
	const upper, lower = 0x80000000, 0x7fffffff
	if r.idx >= 624 {
		for i := 0; i < 624; i++ {
			y := r.mt[i]&upper | r.mt[(i+1)%624]&lower
			v := r.mt[(i+397)%624] ^ y>>1
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			r.mt[i] = v
		}
		r.idx = 0
	}
	y := r.mt[r.idx]
	r.idx++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// interval draws uniformly from [0, max] by masked rejection, as numpy's random_interval does
// for max < 2^32.
func (r *numpyRNG) interval(max uint32) uint32 {
	if max == 0 {
		return 0
	}
	mask := max
	mask |= mask >> 1
	mask |= mask >> 2
	mask |= mask >> 4
	mask |= mask >> 8
	mask |= mask >> 16
	for {
		if v := r.uint32() & mask; v <= max {
			return v
		}
	}
}

// shuffle permutes a in place as RandomState.shuffle does (Fisher-Yates from the end).
func (r *numpyRNG) shuffle(a []int) {
	for i := len(a) - 1; i > 0; i-- {
		j := r.interval(uint32(i))
		a[i], a[j] = a[j], a[i]
	}
}
