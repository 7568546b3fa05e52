//go:build amd64

package eigen

import "golang.org/x/sys/cpu"

// Sweep kernels in rot_amd64.s: the 16 rows interleaved in buf (element t of row r at
// buf[t*16+r]), rotations c[0:k], s[0:k] as fwd4/bwd4 apply them.

//go:noescape
func rotFwd16AVX2(buf *float64, c, s *float64, k int)

//go:noescape
func rotBwd16AVX2(buf *float64, c, s *float64, k int)

// useRot16 selects the assembly path of rotQueue.flush (tests switch it off to compare).
var useRot16 = cpu.X86.HasAVX2 && cpu.X86.HasFMA
