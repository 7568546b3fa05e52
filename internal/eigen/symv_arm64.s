//go:build arm64

// Fused matrix-vector products of four rows for symvUpper (NEON): each element of the rows is
// read once, for both the product with x and the transposed product's update.
#include "textflag.h"

// func symvRows4(a *float64, lda int, x, acc *float64, n int, xb *[4]float64, y *[4]float64)
//
// For the four rows at a, a+lda, a+2 lda, a+3 lda (lda in elements) and j in [0, n), n a
// multiple of 4: y[r] += sum_j row_r[j] x[j], and acc[j] += sum_r row_r[j] xb[r].
//
// Registers: R0, R5, R6, R7 the rows; R2 x; R3 acc; R4 the groups of 4 left; V0-V7 the row
// sums (row r in V2r, V2r+1); V8-V11 xb broadcast; V12-V13 x; V14-V15 acc; V16-V23 the rows'
// elements (row r in V16+2r, V17+2r).
TEXT ·symvRows4(SB), NOSPLIT, $0-56
	MOVD a+0(FP), R0
	MOVD lda+8(FP), R1
	LSL $3, R1, R1
	MOVD x+16(FP), R2
	MOVD acc+24(FP), R3
	MOVD n+32(FP), R4
	MOVD xb+40(FP), R8
	MOVD y+48(FP), R9
	ADD R1, R0, R5
	ADD R1, R5, R6
	ADD R1, R6, R7
	VLD1R (R8), [V8.D2]
	ADD $8, R8
	VLD1R (R8), [V9.D2]
	ADD $8, R8
	VLD1R (R8), [V10.D2]
	ADD $8, R8
	VLD1R (R8), [V11.D2]
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	LSR $2, R4, R4
	CBZ R4, sums
loop:
	VLD1.P 32(R2), [V12.D2, V13.D2]
	VLD1 (R3), [V14.D2, V15.D2]
	VLD1.P 32(R0), [V16.D2, V17.D2]
	VLD1.P 32(R5), [V18.D2, V19.D2]
	VLD1.P 32(R6), [V20.D2, V21.D2]
	VLD1.P 32(R7), [V22.D2, V23.D2]
	VFMLA V16.D2, V12.D2, V0.D2
	VFMLA V17.D2, V13.D2, V1.D2
	VFMLA V18.D2, V12.D2, V2.D2
	VFMLA V19.D2, V13.D2, V3.D2
	VFMLA V20.D2, V12.D2, V4.D2
	VFMLA V21.D2, V13.D2, V5.D2
	VFMLA V22.D2, V12.D2, V6.D2
	VFMLA V23.D2, V13.D2, V7.D2
	VFMLA V16.D2, V8.D2, V14.D2
	VFMLA V17.D2, V8.D2, V15.D2
	VFMLA V18.D2, V9.D2, V14.D2
	VFMLA V19.D2, V9.D2, V15.D2
	VFMLA V20.D2, V10.D2, V14.D2
	VFMLA V21.D2, V10.D2, V15.D2
	VFMLA V22.D2, V11.D2, V14.D2
	VFMLA V23.D2, V11.D2, V15.D2
	VST1.P [V14.D2, V15.D2], 32(R3)
	SUBS $1, R4, R4
	BNE loop
sums:
	// y[r] += the four lanes of V2r and V2r+1 (F2r is lane 0 of V2r).
	VDUP V0.D[1], V24
	VDUP V1.D[1], V25
	FADDD F24, F0
	FADDD F25, F1
	FADDD F1, F0
	FMOVD 0(R9), F26
	FADDD F26, F0
	FMOVD F0, 0(R9)
	VDUP V2.D[1], V24
	VDUP V3.D[1], V25
	FADDD F24, F2
	FADDD F25, F3
	FADDD F3, F2
	FMOVD 8(R9), F26
	FADDD F26, F2
	FMOVD F2, 8(R9)
	VDUP V4.D[1], V24
	VDUP V5.D[1], V25
	FADDD F24, F4
	FADDD F25, F5
	FADDD F5, F4
	FMOVD 16(R9), F26
	FADDD F26, F4
	FMOVD F4, 16(R9)
	VDUP V6.D[1], V24
	VDUP V7.D[1], V25
	FADDD F24, F6
	FADDD F25, F7
	FADDD F7, F6
	FMOVD 24(R9), F26
	FADDD F26, F6
	FMOVD F6, 24(R9)
	RET

// func prefetchRows(a *float64, stride int, rows int)
//
// Asks for the cache lines at a, a+stride, ..., a+(rows-1) stride (stride in elements): the
// first lines of rows that symvUpper reads next, whose first access the hardware prefetcher
// cannot predict (each row starts a new page).
TEXT ·prefetchRows(SB), NOSPLIT, $0-24
	MOVD a+0(FP), R0
	MOVD stride+8(FP), R1
	LSL $3, R1, R1
	MOVD rows+16(FP), R2
	CMP $0, R2
	BLE done
next:
	PRFM (R0), PLDL1KEEP
	PRFM 64(R0), PLDL1KEEP
	PRFM 128(R0), PLDL1KEEP
	ADD R1, R0, R0
	SUBS $1, R2, R2
	BNE next
done:
	RET
