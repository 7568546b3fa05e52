package synth

import "math/rand/v2"

// Independent random streams, one per component, so that each part of the study is
// reproducible on its own: activations generated on demand, or subjects generated in parallel,
// do not depend on what was generated before.
const (
	streamLatent      uint64 = 1
	streamLayer       uint64 = 1 << 20 // + layer: rotation, scales, offsets
	streamAct         uint64 = 2 << 20 // + checkpoint<<12 + layer
	streamFMRITruth   uint64 = 3 << 20
	streamFMRISubject uint64 = 4 << 20 // + subject
	streamMEGTruth    uint64 = 5 << 20
	streamMEGSubject  uint64 = 6 << 20 // + subject
	streamFMRITrials  uint64 = 7 << 20 // + subject
)

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// newRNG returns a PCG generator for (seed, stream). Both state words are hashed so that
// neighbouring seeds or streams do not start at nearby LCG states.
func newRNG(seed, stream uint64) *rand.Rand {
	a := splitmix(seed ^ splitmix(stream))
	b := splitmix(a + stream + 1)
	return rand.New(rand.NewPCG(a, b))
}
