#!/usr/bin/env bash
# GPU check of the cuda build, in two halves (see /work/shared/gpu/README.md and docs/cuda.md):
#
#   scripts/gpu-check.sh build      here (Go, Debian's CUDA 11.8): builds into .gpu/ the cuda test
#                                   binary of engine/cuda and the cuda brainalign, plus retarget.py
#   scripts/gpu-check.sh run [all|tests|bench]
#                                   on the GPU machine (device `run`, carry [".gpu"], timeout_s 590):
#                                   retargets the binaries to the machine's CUDA libraries, checks
#                                   that they load, then runs, most telling first, each step under
#                                   its own cap and all within BUDGET seconds (default 540):
#                                     tests: kernels, syevd, CPU agreement, batching, streaming,
#                                            TF32 accuracy; the conformance suite; the demo
#                                     bench: W1 float32 and tf32; W2; medium on cpu and cuda;
#                                            W1 float32-sequential and tf32-3layers
#                                   A step that the budget cannot hold is skipped and says so.
#                                   Logs (at most 8 files, as the device tool returns) go to $OUT
#                                   (default .gpu/out); summary.txt has one line per step (and its
#                                   failed and skipped tests); the exit status is 1 if any failed.
#
# One device call does it all (a session has 15 minutes of device time, start-up included):
#   scripts/gpu-check.sh run all
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
# The tests and benchmarks of engine/cuda that the steps run (build checks that each alternative
# names one: go test passes a pattern that names nothing)
unit_tests='TestKernels|TestKFoldKernels|TestSplitTF32Product|TestColumnShift|TestSyevd|TestMatchesCPU|TestAlignedProducts|TestTF32NearExactDual|TestTF32LOOPenalties|TestLargeOffsets|TestBatching|TestStreamedBrainData|TestDecompositionOverlap|TestLookahead|TestTF32Accuracy|TestPredictMatchesCPU|TestPinnedStaging|TestWideFeatures|TestFeatureBlocks'
conformance_tests='TestConformance'
w1_benchmarks='W1/^(float32|tf32)$'
w2_benchmarks='W2'
w1_more_benchmarks='W1/^(float32-sequential|tf32-3layers)$'
case "$mode" in
build)
	set -e
	for pattern in "$unit_tests" "$conformance_tests" "$w1_benchmarks" "$w2_benchmarks" "$w1_more_benchmarks"; do
		scripts/test-patterns.sh -tags cuda "$pattern" ./engine/cuda
	done
	# Debian's CUDA 11.8 headers and libraries, unless the C compiler finds a toolkit already
	echo '#include <cublas_v2.h>' | ${CC:-cc} ${CGO_CFLAGS:-} -E -x c - > /dev/null 2>&1 || scripts/install-deps.sh cuda
	grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo /.gpu/ >> .git/info/exclude
	# A fresh folder: retargeted copies and logs of a dry run would double what travels (the
	# device takes 64 MiB with the working tree).
	rm -rf .gpu && mkdir -p .gpu
	# C through scripts/cuda-cc, as make build-cuda (the CUDA 13 compatibility header)
	case ${CC:-} in
	*/scripts/cuda-cc) ;;
	*) export CUDA_CC=${CC:-cc} CC=$(pwd)/scripts/cuda-cc ;;
	esac
	cp scripts/retarget.py .gpu/
	go test -tags cuda -c -o .gpu/cuda.test ./engine/cuda
	go build -tags cuda -o .gpu/brainalign ./cmd/brainalign
	ls -l .gpu
	du -sh .gpu
	;;
run)
	level=${2:-all}
	case "$level" in all | tests | bench) ;; *) echo "unknown level $level (all, tests, bench)" >&2; exit 2 ;; esac
	OUT=${OUT:-.gpu/out}
	BUDGET=${BUDGET:-540}
	mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
	start=$(date +%s)
	summary=$OUT/summary.txt
	: > "$summary"
	rc=0
	# setup_failed MESSAGE: the run cannot go on (in the summary too, as a step would be)
	setup_failed() {
		echo "setup: FAILED: $1" | tee -a "$summary"
		exit 1
	}
	for f in .gpu/cuda.test .gpu/brainalign .gpu/retarget.py; do
		[ -f "$f" ] || setup_failed "$f missing: scripts/gpu-check.sh build first (and carry .gpu)"
	done
	# step NAME CAP LOG DIR CMD...: runs CMD in DIR (output appended to LOG) under min(CAP, what
	# the budget has left), or skips it when under 20 s are left; one line per step in summary.txt.
	step() {
		local name=$1 cap=$2 log=$3 dir=$4
		shift 4
		local left=$((BUDGET - ($(date +%s) - start)))
		local t=$((cap < left ? cap : left))
		if [ "$t" -lt 20 ]; then
			echo "$name: skipped (${left}s of the budget left)" | tee -a "$summary"
			rc=1
			return
		fi
		local t0=$(date +%s) r=0 part
		part=$(mktemp)
		echo "== $name (limit ${t}s)" >> "$log"
		(cd "$dir" && exec timeout "$t" "$@") > "$part" 2>&1 || r=$?
		cat "$part" >> "$log"
		local verdict=ok
		[ "$r" = 0 ] || verdict="FAILED rc=$r"
		[ "$r" = 124 ] && verdict="TIMED OUT after ${t}s"
		# the test binary passes when its pattern names nothing: a step of it must run something
		if [ "$r" = 0 ] && [ "$1" = "$test" ] && ! grep -qE '^(=== RUN|Benchmark)' "$part"; then
			verdict="FAILED: no test or benchmark ran"
			r=1
		fi
		[ "$r" = 0 ] || rc=1
		# a test skipped on the device is said, with its reason: a pass must not hide one
		local skips
		skips=$(grep -c -- '--- SKIP' "$part")
		[ "$skips" = 0 ] || verdict="$verdict, $skips skipped"
		echo "$name: $verdict in $(($(date +%s) - t0))s" | tee -a "$summary"
		grep -E -- '--- FAIL|^panic: ' "$part" | head -10 | sed 's/^/    /' | tee -a "$summary"
		grep -B1 -- '--- SKIP' "$part" | grep -v -- '^--$' | head -10 | sed 's/^/    /' | tee -a "$summary"
		rm -f "$part"
	}
	# CUDA_LIBDIR: the CUDA libraries to retarget to (a dry run here: CUDA_LIBDIR=.cache/cudasim,
	# the simulator that make test-cudasim builds).
	libdir=$(cd "${CUDA_LIBDIR:-/usr/local/cuda/lib64}" && pwd) || setup_failed "no CUDA library folder ${CUDA_LIBDIR:-/usr/local/cuda/lib64}"
	env=$OUT/env.txt
	{
		nvidia-smi
		nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,power.limit --format=csv
		ls "$libdir" | grep -E 'cublas|cusolver|nvrtc'
		ldd --version | head -1 # the binaries, built on Debian 12, need glibc 2.34 or later
		uname -srm
	} > "$env" 2>&1
	# The retargeted copies go to a folder of their own: a second run starts from the originals,
	# and .gpu stays what build made (a dry run here must not double what travels).
	rt=$(mktemp -d)
	trap 'rm -rf "$rt"' EXIT
	cp .gpu/cuda.test "$rt/cuda.test" && cp .gpu/brainalign "$rt/brainalign" || setup_failed "cannot copy the binaries to $rt"
	python3 .gpu/retarget.py "$rt/cuda.test" "$rt/brainalign" --libdir "$libdir" >> "$env" 2>&1 || {
		cat "$env"; setup_failed "retarget.py (its output above, in $env)"; }
	export LD_LIBRARY_PATH=$libdir:${LD_LIBRARY_PATH:-}
	# The ~150 engines the tests open each JIT-compile the PTX for the device: a cache the driver
	# can write (its default is under $HOME) makes that once per machine, not once per engine.
	export CUDA_CACHE_PATH=${CUDA_CACHE_PATH:-${TMPDIR:-/tmp}/brainalign-jit-cache} CUDA_CACHE_MAXSIZE=${CUDA_CACHE_MAXSIZE:-1073741824}
	mkdir -p "$CUDA_CACHE_PATH"
	{
		echo "== ldd"
		ldd "$rt/cuda.test" | grep -E 'cuda|cublas|cusolver|nvrtc|not found'
		# Functions are bound lazily (no BIND_NOW): a CUDA function missing from the new libraries
		# fails only when called. List any, to tell a load failure from a harmless gap.
		if command -v nm > /dev/null; then
			echo "== CUDA functions the binaries need that the libraries lack"
			defined=$(for l in "$libdir"/lib{cublas,cublasLt,cusolver,nvrtc}.so*; do nm -D --defined-only "$l" 2> /dev/null; done | awk '{print $NF}' | sed 's/@.*//' | sort -u)
			nm -D --undefined-only "$rt/cuda.test" "$rt/brainalign" | awk '{print $NF}' | sed 's/@.*//' |
				grep -E '^(cublas|cusolver|nvrtc)' | sort -u | comm -23 - <(echo "$defined")
		fi
	} >> "$env" 2>&1
	# A binary that cannot start (a library or symbol missing) ends the run here, cheaply.
	if ! "$rt/brainalign" --version >> "$env" 2>&1; then
		tail -20 "$env"; setup_failed "the retargeted brainalign does not start (its output above, in $env)"
	fi
	test=$rt/cuda.test
	if [ "$level" != bench ]; then
		# Kernels, bindings, CPU agreement, batching and streaming first: fast and most telling.
		# (each of the ~150 engines these tests open creates a context and JIT-compiles the PTX: the
		# first run on a machine pays the JIT, later ones hit the driver's cache)
		step unit 200 "$OUT/unit.log" engine/cuda "$test" -test.v -test.count=1 -test.paniconexit0 -test.run "$unit_tests"
		step conformance 150 "$OUT/conformance.log" engine/cuda "$test" -test.v -test.count=1 -test.paniconexit0 -test.run "$conformance_tests"
		grep -hE '^(--- FAIL|FAIL|ok|PASS)|TF32.*(diff|TFLOP)' "$OUT/unit.log" "$OUT/conformance.log" | head -40
		# The CLI end to end on the device: the demo (encode on cuda:0, then a sweep study).
		step "demo on cuda:0" 90 "$OUT/demo.log" . "$rt/brainalign" demo
		grep -E '^(result|engine)|recovered' "$OUT/demo.log" | head -5
	fi
	if [ "$level" != tests ]; then
		bench=("$test" -test.run XXX -test.benchtime 1x -test.v -test.paniconexit0 -test.bench)
		step "W1 float32+tf32" 150 "$OUT/bench.log" engine/cuda "${bench[@]}" "$w1_benchmarks"
		step "W2" 120 "$OUT/bench.log" engine/cuda "${bench[@]}" "$w2_benchmarks"
		# The CPU engine on the machine's cores at a smaller size, and the GPU at the same size,
		# for the GPU/CPU ratio.
		for dev in cpu cuda:0; do
			step "medium $dev" 90 "$OUT/medium.txt" . "$rt/brainalign" bench --workload medium --device "$dev"
		done
		step "W1 sequential+3layers" 200 "$OUT/bench.log" engine/cuda "${bench[@]}" "$w1_more_benchmarks"
		grep -E '^Benchmark|TFLOP|resident|SKIP|needs a device' "$OUT/bench.log"
		grep -E '^(==|engine)|^ *total|TFLOP' "$OUT/medium.txt"
	fi
	echo "gpu-check: rc=$rc in $(($(date +%s) - start))s of a ${BUDGET}s budget; logs in $OUT"
	cat "$summary"
	exit $rc
	;;
*)
	echo "usage: scripts/gpu-check.sh build | run [tests|bench|all]" >&2
	exit 2
	;;
esac
