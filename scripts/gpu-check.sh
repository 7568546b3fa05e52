#!/usr/bin/env bash
# GPU check of the cuda build, in two halves (see /work/shared/gpu/README.md and docs/cuda.md):
#
#   scripts/gpu-check.sh build      here (Go, Debian's CUDA 11.8): builds into .gpu/ the cuda test
#                                   binary of engine/cuda and bin-style brainalign, plus retarget.py
#   scripts/gpu-check.sh run tests|bench|all
#                                   on the GPU machine (device `run` with carry [".gpu"]): retargets
#                                   the binaries to the machine's CUDA libraries, then runs the tests
#                                   (tests), the W1/W2 benchmarks (bench) or both (all; may pass the
#                                   10-minute limit of one device call); logs go to $OUT
#                                   (default .gpu/out)
#
# Device calls:  scripts/gpu-check.sh run tests ; then  scripts/gpu-check.sh run bench
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
case "$mode" in
build)
	set -e
	grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo /.gpu/ >> .git/info/exclude
	mkdir -p .gpu
	cp scripts/retarget.py .gpu/
	go test -tags cuda -c -o .gpu/cuda.test ./engine/cuda
	go build -tags cuda -o .gpu/brainalign ./cmd/brainalign
	ls -l .gpu
	;;
run)
	level=${2:-tests}
	OUT=${OUT:-.gpu/out}
	mkdir -p "$OUT"
	root=$(pwd)
	# CUDA_LIBDIR: the CUDA libraries to retarget to (a dry run here: CUDA_LIBDIR=.cache/cudasim,
	# the simulator that make test-cudasim builds).
	libdir=$(cd "${CUDA_LIBDIR:-/usr/local/cuda/lib64}" && pwd) || { echo "no CUDA library folder ${CUDA_LIBDIR:-/usr/local/cuda/lib64}"; exit 1; }
	{
		nvidia-smi
		ls "$libdir" | grep -E 'cublas|cusolver|nvrtc'
	} > "$OUT/device.txt" 2>&1
	# The retargeted copies are written beside the originals so a second run starts clean.
	cp .gpu/cuda.test .gpu/cuda.test.rt && cp .gpu/brainalign .gpu/brainalign.rt
	python3 .gpu/retarget.py .gpu/cuda.test.rt .gpu/brainalign.rt --libdir "$libdir" > "$OUT/retarget.txt" 2>&1 || {
		echo "retarget failed"; cat "$OUT/retarget.txt"; exit 1; }
	export LD_LIBRARY_PATH=$libdir:${LD_LIBRARY_PATH:-}
	rc=0
	if [ "$level" != bench ]; then
	# Kernels, bindings, CPU agreement, batching and streaming first: fast and most telling.
	# (each of the ~150 engines these tests open creates a context and JIT-compiles the PTX: the
	# first run on a machine pays the JIT, later ones hit the driver's cache)
	(cd engine/cuda && timeout 300 "$root/.gpu/cuda.test.rt" -test.v -test.count=1 \
		-test.run 'TestKernels|TestKFoldKernels|TestSplitTF32Product|TestColumnShift|TestSyevd|TestMatchesCPU|TestAlignedProducts|TestTF32NearExactDual|TestLargeOffsets|TestBatching|TestStreamedBrainData|TestDecompositionOverlap|TestLookahead|TestTF32Accuracy') \
		> "$OUT/unit.log" 2>&1 || rc=1
	tail -5 "$OUT/unit.log"
	(cd engine/cuda && timeout 280 "$root/.gpu/cuda.test.rt" -test.v -test.count=1 -test.run 'TestConformance') \
		> "$OUT/conformance.log" 2>&1 || rc=1
	grep -E '^(--- FAIL|FAIL|ok|PASS)' "$OUT/conformance.log" | head -40
	fi
	if [ "$level" = bench ] || [ "$level" = all ]; then
		(cd engine/cuda && timeout 540 "$root/.gpu/cuda.test.rt" -test.run XXX -test.bench 'W1|W2' \
			-test.benchtime 1x -test.v) > "$OUT/bench.log" 2>&1 || rc=1
		grep -E 'Benchmark|TFLOP|resident' "$OUT/bench.log"
		# The CPU engine on the machine's cores at a smaller size, and the GPU at the same size,
		# for the GPU/CPU ratio.
		for dev in cpu cuda:0; do
			timeout 120 .gpu/brainalign.rt bench --workload medium --device "$dev" > "$OUT/medium-${dev%%:*}.txt" 2>&1 || rc=1
			grep -E '^engine|total|TFLOP' "$OUT/medium-${dev%%:*}.txt"
		done
	fi
	.gpu/brainalign.rt --version > "$OUT/cli.txt" 2>&1 || rc=1
	echo "gpu-check: rc=$rc; logs in $OUT"
	exit $rc
	;;
*)
	echo "usage: scripts/gpu-check.sh build | run [tests|bench|all]" >&2
	exit 2
	;;
esac
