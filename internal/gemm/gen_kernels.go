//go:build ignore

// gen_kernels writes the amd64 and arm64 micro-kernels of package gemm, one
// file per kernel. Run it with `go generate ./internal/gemm/` after editing.
//
// Every kernel has the Go signature
//
//	func kern(k int, a, b, c *T, ldc int, alpha, beta T)
//
// and computes, for the MR×NR tile of C at c (row stride ldc elements),
//
//	C = alpha * Ap * Bp + beta * C        (C is not read when beta == ±0)
//
// where Ap is a packed MR-row micro-panel of A (k steps of MR contiguous
// elements) and Bp a packed NR-column micro-panel of B (k steps of NR
// contiguous elements).
package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

type spec struct {
	name   string // Go function name
	file   string // output file name
	elem   int    // element size in bytes: 4 or 8
	reg    string // "Y" (AVX2, 16 registers) or "Z" (AVX-512, 32 registers)
	lanes  int    // elements per vector register
	mr     int    // rows of the tile
	nv     int    // vectors per row of the tile; NR = nv*lanes
	unroll int    // k steps per main-loop iteration
	isa    string // comment
}

// pick returns f32 for 4-byte elements, else f64.
func pick(elem int, f32, f64 string) string {
	if elem == 4 {
		return f32
	}
	return f64
}

func (s spec) nr() int { return s.nv * s.lanes }

func (s spec) sfx() string { return pick(s.elem, "PS", "PD") }

func (s spec) bcast() string { return pick(s.elem, "VBROADCASTSS", "VBROADCASTSD") }

func (s spec) zero(r string) string {
	if s.reg == "Z" {
		return fmt.Sprintf("VPXORQ %s, %s, %s", r, r, r)
	}
	return fmt.Sprintf("VXORPS %s, %s, %s", r, r, r)
}

func (s spec) acc(i, v int) string { return fmt.Sprintf("%s%d", s.reg, i*s.nv+v) }

// Register plan: accumulators first, then the B vectors, then two
// broadcast registers used alternately for the A elements.
func (s spec) nacc() int         { return s.mr * s.nv }
func (s spec) bReg(v int) string { return fmt.Sprintf("%s%d", s.reg, s.nacc()+v) }
func (s spec) aReg(i int) string { return fmt.Sprintf("%s%d", s.reg, s.nacc()+s.nv+i%2) }
func (s spec) alphaReg() string  { return s.aReg(0) }
func (s spec) betaReg() string   { return s.aReg(1) }

func gen(s spec) []byte {
	var w bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }
	nregs := 16
	if s.reg == "Z" {
		nregs = 32
	}
	if s.nacc()+s.nv+2 > nregs {
		panic("too many registers: " + s.name)
	}
	alphaOff, betaOff, argSize := preamble(p, "amd64", s.isa, s.name, s.elem, s.mr, s.nv, s.lanes)
	aStep := s.mr * s.elem
	bStep := s.nr() * s.elem
	vbytes := s.lanes * s.elem
	p("// Register allocation:")
	p("//   CX  k (remaining steps)      SI  Ap pointer     DI  Bp pointer")
	p("//   DX  C row pointer            R8  ldc in bytes   AX  beta bits")
	p("//   %s0-%s%d  accumulators: row i, vector v in %s(i*%d+v)", s.reg, s.reg, s.nacc()-1, s.reg, s.nv)
	p("//   %s-%s  the %d vectors of one B step", s.bReg(0), s.bReg(s.nv-1), s.nv)
	p("//   %s, %s  broadcast A elements (alternating rows); alpha and beta in the epilogue", s.aReg(0), s.aReg(1))
	p("TEXT ·%s(SB), NOSPLIT, $0-%d", s.name, argSize)
	p("\tMOVQ k+0(FP), CX")
	p("\tMOVQ a+8(FP), SI")
	p("\tMOVQ b+16(FP), DI")
	p("\tMOVQ c+24(FP), DX")
	p("\tMOVQ ldc+32(FP), R8")
	if s.elem == 4 {
		p("\tSHLQ $2, R8")
	} else {
		p("\tSHLQ $3, R8")
	}
	p("")
	p("\t// Zero the accumulators; touch the C rows so they are in cache for the epilogue.")
	for i := 0; i < s.nacc(); i++ {
		p("\t%s", s.zero(fmt.Sprintf("%s%d", s.reg, i)))
	}
	p("\tMOVQ DX, R9")
	for i := 0; i < s.mr; i++ {
		p("\tPREFETCHT0 (R9)")
		if s.nr()*s.elem > 64 {
			p("\tPREFETCHT0 %d(R9)", s.nr()*s.elem-1)
		}
		if i < s.mr-1 {
			p("\tADDQ R8, R9")
		}
	}
	p("")
	step := func(off int) {
		// One k step at byte offset off*aStep / off*bStep from SI / DI.
		for v := 0; v < s.nv; v++ {
			p("\tVMOVUP%s %d(DI), %s", s.sfx()[1:], off*bStep+v*vbytes, s.bReg(v))
		}
		for i := 0; i < s.mr; i++ {
			p("\t%s %d(SI), %s", s.bcast(), off*aStep+i*s.elem, s.aReg(i))
			for v := 0; v < s.nv; v++ {
				p("\tVFMADD231%s %s, %s, %s", s.sfx(), s.bReg(v), s.aReg(i), s.acc(i, v))
			}
		}
	}
	if s.unroll > 1 {
		p("\tCMPQ CX, $%d", s.unroll)
		p("\tJLT tail")
		p("")
		p("loop:")
		p("\tPREFETCHT0 %d(SI)", s.unroll*aStep*4)
		for u := 0; u < s.unroll; u++ {
			step(u)
		}
		p("\tADDQ $%d, SI", s.unroll*aStep)
		p("\tADDQ $%d, DI", s.unroll*bStep)
		p("\tSUBQ $%d, CX", s.unroll)
		p("\tCMPQ CX, $%d", s.unroll)
		p("\tJGE loop")
		p("")
		p("tail:")
	}
	p("\tTESTQ CX, CX")
	p("\tJEQ epilogue")
	p("")
	p("tailloop:")
	step(0)
	p("\tADDQ $%d, SI", aStep)
	p("\tADDQ $%d, DI", bStep)
	p("\tDECQ CX")
	p("\tJNE tailloop")
	p("")
	p("epilogue:")
	p("\t%s alpha+%d(FP), %s", s.bcast(), alphaOff, s.alphaReg())
	for i := 0; i < s.nacc(); i++ {
		r := fmt.Sprintf("%s%d", s.reg, i)
		p("\tVMUL%s %s, %s, %s", s.sfx(), s.alphaReg(), r, r)
	}
	if s.elem == 4 {
		p("\tMOVL beta+%d(FP), AX", betaOff)
		p("\tANDL $0x7fffffff, AX")
	} else {
		p("\tMOVQ beta+%d(FP), AX", betaOff)
		p("\tBTRQ $63, AX")
		p("\tTESTQ AX, AX")
	}
	p("\tJEQ storezero")
	p("")
	p("\t// beta != 0: C = alpha*acc + beta*C.")
	p("\t%s beta+%d(FP), %s", s.bcast(), betaOff, s.betaReg())
	for i := 0; i < s.mr; i++ {
		for v := 0; v < s.nv; v++ {
			p("\tVFMADD231%s %d(DX), %s, %s", s.sfx(), v*vbytes, s.betaReg(), s.acc(i, v))
			p("\tVMOVUP%s %s, %d(DX)", s.sfx()[1:], s.acc(i, v), v*vbytes)
		}
		if i < s.mr-1 {
			p("\tADDQ R8, DX")
		}
	}
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
	p("storezero:")
	p("\t// beta == 0: C = alpha*acc, C is not read.")
	for i := 0; i < s.mr; i++ {
		for v := 0; v < s.nv; v++ {
			p("\tVMOVUP%s %s, %d(DX)", s.sfx()[1:], s.acc(i, v), v*vbytes)
		}
		if i < s.mr-1 {
			p("\tADDQ R8, DX")
		}
	}
	p("\tVZEROUPPER")
	p("\tRET")
	return w.Bytes()
}

// neonSpec is an arm64 Advanced SIMD kernel: 32 128-bit registers, FMLA by
// element (one A element times a vector of B), so A needs no broadcasts.
type neonSpec struct {
	name   string
	file   string
	elem   int // 4 or 8
	mr     int // rows of the tile; a multiple of the lanes
	nv     int // vectors per row; NR = nv*lanes
	unroll int
}

func (s neonSpec) lanes() int  { return 16 / s.elem }
func (s neonSpec) nr() int     { return s.nv * s.lanes() }
func (s neonSpec) nacc() int   { return s.mr * s.nv }
func (s neonSpec) na() int     { return s.mr / s.lanes() } // vectors of one A step
func (s neonSpec) arr() string { return pick(s.elem, "S4", "D2") }

// Register plan: V0.. accumulators (row i, vector v in V(i*nv+v)), then the A
// vectors of one step, then the B vectors.
func (s neonSpec) aReg(j int) int { return s.nacc() + j }
func (s neonSpec) bReg(v int) int { return s.nacc() + s.na() + v }

// list is a register list of n consecutive vectors from V(first).
func (s neonSpec) list(first, n int) string {
	regs := make([]string, n)
	for i := range regs {
		regs[i] = fmt.Sprintf("V%d.%s", first+i, s.arr())
	}
	return "[" + strings.Join(regs, ", ") + "]"
}

// byElement encodes the Advanced SIMD "by element" form of FMLA (op 0b0001)
// or FMUL (op 0b1001): Vd.T (+)= Vn.T * Vm.T[idx], 128-bit. Go's assembler
// does not accept these forms (its testdata lists them as TODO), so they are
// emitted as WORDs with the instruction in a comment.
func (s neonSpec) byElement(op uint32, mnemonic string, d, n, m, idx int) string {
	sz, h, l := uint32(0), uint32(idx>>1), uint32(idx&1)
	t, lane := "4s", "s"
	if s.elem == 8 {
		sz, h, l, t, lane = 1, uint32(idx), 0, "2d", "d"
	}
	w := uint32(1)<<30 | 0x0f800000 | sz<<22 | l<<21 | uint32(m)<<16 | op<<12 | h<<11 | uint32(n)<<5 | uint32(d)
	return fmt.Sprintf("WORD $0x%08x // %s v%d.%s, v%d.%s, v%d.%s[%d]", w, mnemonic, d, t, n, t, m, lane, idx)
}

// preamble writes a kernel file's header and the comment on its contract (every kernel has the
// same Go signature), and returns the frame offsets of alpha and beta and the argument size.
func preamble(p func(string, ...any), arch, isa, name string, elem, mr, nv, lanes int) (alphaOff, betaOff, argSize int) {
	typ, nr := pick(elem, "float32", "float64"), nv*lanes
	p("// Code generated by gen_kernels.go; DO NOT EDIT.")
	p("")
	p("//go:build %s", arch)
	p("")
	p("#include \"textflag.h\"")
	p("")
	p("// func %s(k int, a, b, c *%s, ldc int, alpha, beta %s)", name, typ, typ)
	p("//")
	p("// %s micro-kernel, %s, tile MR×NR = %d×%d (%d vectors of %d lanes per row).", isa, typ, mr, nr, nv, lanes)
	p("// C[0:%d, 0:%d] = alpha * Ap * Bp + beta * C; C is not read when beta == ±0.", mr, nr)
	p("// Ap: packed A micro-panel, k steps of %d elements (%d bytes each step).", mr, mr*elem)
	p("// Bp: packed B micro-panel, k steps of %d elements (%d bytes each step).", nr, nr*elem)
	p("//")
	if elem == 4 {
		return 40, 44, 48
	}
	return 40, 48, 56
}

func genNEON(s neonSpec) []byte {
	var w bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }
	if s.bReg(s.nv) > 32 || s.mr%s.lanes() != 0 || s.na() < 2 {
		panic("bad register plan: " + s.name)
	}
	fmov, ldBeta, lsl, cbz := "FMOVS", "MOVWU", "LSLW", "CBZW"
	if s.elem == 8 {
		fmov, ldBeta, lsl, cbz = "FMOVD", "MOVD", "LSL", "CBZ"
	}
	alphaOff, betaOff, argSize := preamble(p, "arm64", "NEON (Advanced SIMD)", s.name, s.elem, s.mr, s.nv, s.lanes())
	aStep, bStep := s.mr*s.elem, s.nr()*s.elem
	alphaReg, betaReg := s.aReg(0), s.aReg(1)
	p("// Register allocation:")
	p("//   R0  k (remaining steps)      R1  Ap pointer     R2  Bp pointer")
	p("//   R3  C row pointer            R4  ldc in bytes   R5  beta bits")
	p("//   V0-V%d  accumulators: row i, vector v in V(i*%d+v)", s.nacc()-1, s.nv)
	p("//   V%d-V%d  the %d vectors of one A step; alpha and beta (lane 0) in the epilogue", s.aReg(0), s.aReg(s.na()-1), s.na())
	p("//   V%d-V%d  the %d vectors of one B step; a row of C in the epilogue", s.bReg(0), s.bReg(s.nv-1), s.nv)
	p("TEXT ·%s(SB), NOSPLIT, $0-%d", s.name, argSize)
	p("\tMOVD k+0(FP), R0")
	p("\tMOVD a+8(FP), R1")
	p("\tMOVD b+16(FP), R2")
	p("\tMOVD c+24(FP), R3")
	p("\tMOVD ldc+32(FP), R4")
	if s.elem == 4 {
		p("\tLSL $2, R4, R4")
	} else {
		p("\tLSL $3, R4, R4")
	}
	p("")
	p("\t// Zero the accumulators.")
	for i := 0; i < s.nacc(); i++ {
		p("\tVEOR V%d.B16, V%d.B16, V%d.B16", i, i, i)
	}
	p("")
	step := func() {
		p("\tVLD1.P %d(R1), %s", aStep, s.list(s.aReg(0), s.na()))
		p("\tVLD1.P %d(R2), %s", bStep, s.list(s.bReg(0), s.nv))
		for i := 0; i < s.mr; i++ {
			a, lane := s.aReg(i/s.lanes()), i%s.lanes()
			for v := 0; v < s.nv; v++ {
				p("\t%s", s.byElement(0b0001, "fmla", i*s.nv+v, s.bReg(v), a, lane))
			}
		}
	}
	if s.unroll > 1 {
		p("\tCMP $%d, R0", s.unroll)
		p("\tBLT tail")
		p("")
		p("loop:")
		for u := 0; u < s.unroll; u++ {
			step()
		}
		p("\tSUB $%d, R0, R0", s.unroll)
		p("\tCMP $%d, R0", s.unroll)
		p("\tBGE loop")
		p("")
		p("tail:")
	}
	p("\tCBZ R0, epilogue")
	p("")
	p("tailloop:")
	step()
	p("\tSUBS $1, R0, R0")
	p("\tBNE tailloop")
	p("")
	p("epilogue:")
	p("\t%s alpha+%d(FP), F%d", fmov, alphaOff, alphaReg)
	for i := 0; i < s.nacc(); i++ {
		p("\t%s", s.byElement(0b1001, "fmul", i, i, alphaReg, 0))
	}
	p("\t%s beta+%d(FP), R5", ldBeta, betaOff)
	p("\t%s $1, R5, R5 // drop the sign: -0 counts as 0", lsl)
	p("\t%s R5, storezero", cbz)
	p("")
	p("\t// beta != 0: C = alpha*acc + beta*C.")
	p("\t%s beta+%d(FP), F%d", fmov, betaOff, betaReg)
	for i := 0; i < s.mr; i++ {
		p("\tVLD1 (R3), %s", s.list(s.bReg(0), s.nv))
		for v := 0; v < s.nv; v++ {
			p("\t%s", s.byElement(0b0001, "fmla", i*s.nv+v, s.bReg(v), betaReg, 0))
		}
		p("\tVST1 %s, (R3)", s.list(i*s.nv, s.nv))
		if i < s.mr-1 {
			p("\tADD R4, R3, R3")
		}
	}
	p("\tRET")
	p("")
	p("storezero:")
	p("\t// beta == 0: C = alpha*acc, C is not read.")
	for i := 0; i < s.mr; i++ {
		p("\tVST1 %s, (R3)", s.list(i*s.nv, s.nv))
		if i < s.mr-1 {
			p("\tADD R4, R3, R3")
		}
	}
	p("\tRET")
	return w.Bytes()
}

func main() {
	neon := []neonSpec{
		{name: "kernS8x12NEON", file: "kern_s8x12_neon_arm64.s", elem: 4, mr: 8, nv: 3, unroll: 4},
		{name: "kernD8x6NEON", file: "kern_d8x6_neon_arm64.s", elem: 8, mr: 8, nv: 3, unroll: 4},
	}
	specs := []spec{
		{name: "kernS14x32AVX512", file: "kern_s14x32_avx512_amd64.s", elem: 4, reg: "Z", lanes: 16, mr: 14, nv: 2, unroll: 4, isa: "AVX-512F"},
		{name: "kernD14x16AVX512", file: "kern_d14x16_avx512_amd64.s", elem: 8, reg: "Z", lanes: 8, mr: 14, nv: 2, unroll: 4, isa: "AVX-512F"},
		{name: "kernS6x16AVX2", file: "kern_s6x16_avx2_amd64.s", elem: 4, reg: "Y", lanes: 8, mr: 6, nv: 2, unroll: 4, isa: "AVX2+FMA"},
		{name: "kernD6x8AVX2", file: "kern_d6x8_avx2_amd64.s", elem: 8, reg: "Y", lanes: 4, mr: 6, nv: 2, unroll: 4, isa: "AVX2+FMA"},
	}
	only := ""
	if len(os.Args) > 1 {
		only = strings.Join(os.Args[1:], " ")
	}
	write := func(name, file string, src []byte) {
		if only != "" && !strings.Contains(only, name) {
			return
		}
		if err := os.WriteFile(file, src, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	for _, s := range specs {
		write(s.name, s.file, gen(s))
	}
	for _, s := range neon {
		write(s.name, s.file, genNEON(s))
	}
}
