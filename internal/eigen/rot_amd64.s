//go:build amd64

// Rotation kernels for rotQueue.flush16 (AVX2 + FMA): each applies one sweep to 16 rows of z held
// interleaved, four ymm registers of rows carried along the chain (latency hidden by the four
// independent chains; throughput-bound at 16 vector operations a rotation).
#include "textflag.h"

// LOAD_X and STORE_X move x (Y0-Y3, 16 rows) from and to the element at DI.
#define LOAD_X \
	VMOVUPD 0(DI), Y0; \
	VMOVUPD 32(DI), Y1; \
	VMOVUPD 64(DI), Y2; \
	VMOVUPD 96(DI), Y3

#define STORE_X \
	VMOVUPD Y0, 0(DI); \
	VMOVUPD Y1, 32(DI); \
	VMOVUPD Y2, 64(DI); \
	VMOVUPD Y3, 96(DI)

// STORE_OUT_CARRY_X ends a step: the rotated element (Y8-Y11) is stored at DI and the one
// carried on (Y4-Y7) becomes x (Y0-Y3).
#define STORE_OUT_CARRY_X \
	VMOVUPD Y8, 0(DI); \
	VMOVUPD Y9, 32(DI); \
	VMOVUPD Y10, 64(DI); \
	VMOVUPD Y11, 96(DI); \
	VMOVAPD Y4, Y0; \
	VMOVAPD Y5, Y1; \
	VMOVAPD Y6, Y2; \
	VMOVAPD Y7, Y3

// func rotFwd16AVX2(buf *float64, c, s *float64, k int)
//
// Applies rotations t = 0, 1, ..., k-1 to the element pairs (t, t+1) of 16 interleaved rows
// (element t of row r at buf[t*16+r]): a[t] = s*a[t+1] + c*x, x = c*a[t+1] - s*x, with x (the
// element about to be rotated again, a[t] before the step) carried in Y0-Y3, as fwd4 does four rows.
//
// Registers: DI buf (row block of step t), SI c, DX s, CX steps left; Y0-Y3 x; Y4-Y7 a[t+1],
// then the new x; Y8-Y11 the new a[t]; Y14 c[t], Y15 s[t].
TEXT ·rotFwd16AVX2(SB), NOSPLIT, $0-32
	MOVQ buf+0(FP), DI
	MOVQ c+8(FP), SI
	MOVQ s+16(FP), DX
	MOVQ k+24(FP), CX
	LOAD_X
	TESTQ CX, CX
	JZ doneF
loopF:
	VBROADCASTSD (SI), Y14
	VBROADCASTSD (DX), Y15
	VMOVUPD 128(DI), Y4
	VMOVUPD 160(DI), Y5
	VMOVUPD 192(DI), Y6
	VMOVUPD 224(DI), Y7
	VMULPD Y4, Y15, Y8
	VFMADD231PD Y0, Y14, Y8
	VMULPD Y5, Y15, Y9
	VFMADD231PD Y1, Y14, Y9
	VMULPD Y6, Y15, Y10
	VFMADD231PD Y2, Y14, Y10
	VMULPD Y7, Y15, Y11
	VFMADD231PD Y3, Y14, Y11
	VMULPD Y4, Y14, Y4
	VFNMADD231PD Y0, Y15, Y4
	VMULPD Y5, Y14, Y5
	VFNMADD231PD Y1, Y15, Y5
	VMULPD Y6, Y14, Y6
	VFNMADD231PD Y2, Y15, Y6
	VMULPD Y7, Y14, Y7
	VFNMADD231PD Y3, Y15, Y7
	STORE_OUT_CARRY_X
	ADDQ $128, DI
	ADDQ $8, SI
	ADDQ $8, DX
	DECQ CX
	JNZ loopF
doneF:
	STORE_X
	VZEROUPPER
	RET

// func rotBwd16AVX2(buf *float64, c, s *float64, k int)
//
// bwd4 on 16 interleaved rows: rotations t = k-1, ..., 0 on the pairs (t, t+1):
// a[t+1] = c*x - s*a[t], x = s*x + c*a[t], with x (a[t+1] before the step) carried in Y0-Y3.
//
// Registers: DI buf at step t+1's block, SI c[t], DX s[t] (walking down), CX steps left; Y0-Y3
// x; Y4-Y7 a[t], then the new x; Y8-Y11 the new a[t+1]; Y14 c[t], Y15 s[t].
TEXT ·rotBwd16AVX2(SB), NOSPLIT, $0-32
	MOVQ buf+0(FP), DI
	MOVQ c+8(FP), SI
	MOVQ s+16(FP), DX
	MOVQ k+24(FP), CX
	// start at t = k-1: x = a[k]
	MOVQ CX, AX
	SHLQ $7, AX
	ADDQ AX, DI
	LEAQ -8(SI)(CX*8), SI
	LEAQ -8(DX)(CX*8), DX
	LOAD_X
	TESTQ CX, CX
	JZ doneB
loopB:
	VBROADCASTSD (SI), Y14
	VBROADCASTSD (DX), Y15
	VMOVUPD -128(DI), Y4
	VMOVUPD -96(DI), Y5
	VMOVUPD -64(DI), Y6
	VMOVUPD -32(DI), Y7
	VMULPD Y4, Y15, Y8
	VFMSUB231PD Y0, Y14, Y8
	VMULPD Y5, Y15, Y9
	VFMSUB231PD Y1, Y14, Y9
	VMULPD Y6, Y15, Y10
	VFMSUB231PD Y2, Y14, Y10
	VMULPD Y7, Y15, Y11
	VFMSUB231PD Y3, Y14, Y11
	VMULPD Y4, Y14, Y4
	VFMADD231PD Y0, Y15, Y4
	VMULPD Y5, Y14, Y5
	VFMADD231PD Y1, Y15, Y5
	VMULPD Y6, Y14, Y6
	VFMADD231PD Y2, Y15, Y6
	VMULPD Y7, Y14, Y7
	VFMADD231PD Y3, Y15, Y7
	STORE_OUT_CARRY_X
	SUBQ $128, DI
	SUBQ $8, SI
	SUBQ $8, DX
	DECQ CX
	JNZ loopB
doneB:
	STORE_X
	VZEROUPPER
	RET
