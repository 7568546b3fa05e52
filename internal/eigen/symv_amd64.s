//go:build amd64

// Fused matrix-vector products of four rows for symvUpper (AVX2 + FMA): each element of the
// rows is read once, for both the product with x and the transposed product's update.
#include "textflag.h"

// func symvRows4(a *float64, lda int, x, acc *float64, n int, xb *[4]float64, y *[4]float64)
//
// For the four rows at a, a+lda, a+2 lda, a+3 lda (lda in elements) and j in [0, n), n a
// multiple of 4: y[r] += sum_j row_r[j] x[j], and acc[j] += sum_r row_r[j] xb[r].
//
// Registers: SI, R10, R11, R12 the rows; DI x; DX acc; CX n in bytes; AX the byte offset;
// Y0-Y3 the row sums; Y4-Y7 xb broadcast; Y8 x; Y9 acc; Y10-Y13 the rows' elements.
TEXT ·symvRows4(SB), NOSPLIT, $0-56
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), BX
	SHLQ $3, BX
	MOVQ x+16(FP), DI
	MOVQ acc+24(FP), DX
	MOVQ n+32(FP), CX
	MOVQ xb+40(FP), R8
	MOVQ y+48(FP), R9
	LEAQ (SI)(BX*1), R10
	LEAQ (R10)(BX*1), R11
	LEAQ (R11)(BX*1), R12
	VBROADCASTSD 0(R8), Y4
	VBROADCASTSD 8(R8), Y5
	VBROADCASTSD 16(R8), Y6
	VBROADCASTSD 24(R8), Y7
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	XORQ AX, AX
	SHLQ $3, CX
	TESTQ CX, CX
	JZ sums
loop:
	VMOVUPD (DI)(AX*1), Y8
	VMOVUPD (DX)(AX*1), Y9
	VMOVUPD (SI)(AX*1), Y10
	VMOVUPD (R10)(AX*1), Y11
	VMOVUPD (R11)(AX*1), Y12
	VMOVUPD (R12)(AX*1), Y13
	VFMADD231PD Y10, Y8, Y0
	VFMADD231PD Y11, Y8, Y1
	VFMADD231PD Y12, Y8, Y2
	VFMADD231PD Y13, Y8, Y3
	VFMADD231PD Y10, Y4, Y9
	VFMADD231PD Y11, Y5, Y9
	VFMADD231PD Y12, Y6, Y9
	VFMADD231PD Y13, Y7, Y9
	VMOVUPD Y9, (DX)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JB loop
sums:
	// y[r] += the four lanes of Y_r.
	VEXTRACTF128 $1, Y0, X8
	VADDPD X8, X0, X0
	VHADDPD X0, X0, X0
	VADDSD 0(R9), X0, X0
	VMOVSD X0, 0(R9)
	VEXTRACTF128 $1, Y1, X8
	VADDPD X8, X1, X1
	VHADDPD X1, X1, X1
	VADDSD 8(R9), X1, X1
	VMOVSD X1, 8(R9)
	VEXTRACTF128 $1, Y2, X8
	VADDPD X8, X2, X2
	VHADDPD X2, X2, X2
	VADDSD 16(R9), X2, X2
	VMOVSD X2, 16(R9)
	VEXTRACTF128 $1, Y3, X8
	VADDPD X8, X3, X3
	VHADDPD X3, X3, X3
	VADDSD 24(R9), X3, X3
	VMOVSD X3, 24(R9)
	VZEROUPPER
	RET

// func prefetchRows(a *float64, stride int, rows int)
//
// Asks for the cache lines at a, a+stride, ..., a+(rows-1) stride (stride in elements): the
// first lines of rows that symvUpper reads next, whose first access the hardware prefetcher
// cannot predict (each row starts a new page).
TEXT ·prefetchRows(SB), NOSPLIT, $0-24
	MOVQ a+0(FP), SI
	MOVQ stride+8(FP), BX
	SHLQ $3, BX
	MOVQ rows+16(FP), CX
	TESTQ CX, CX
	JLE done
next:
	PREFETCHT0 (SI)
	PREFETCHT0 64(SI)
	PREFETCHT0 128(SI)
	ADDQ BX, SI
	DECQ CX
	JNZ next
done:
	RET
