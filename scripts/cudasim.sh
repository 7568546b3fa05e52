#!/usr/bin/env bash
# Runs the cuda build on cudasim, the host simulation of the CUDA driver, cuBLAS and cuSOLVER in
# engine/cuda/sim (see its README.md): on a machine with no GPU, the `-tags cuda` test binaries
# start, and the CUDA engine's host code and its kernels (compiled from kernels/*.cu for the host)
# compute the conformance suite's numbers. What it cannot check (speed, the real libraries'
# behaviour, asynchrony between streams) needs a GPU: scripts/gpu-check.sh.
#
#   scripts/cudasim.sh            the cuda-build tests of engine/cuda, bench and cmd/brainalign (but
#                                 its tests of file formats and metrics)
#   scripts/cudasim.sh go ARGS    any go command (e.g. go test -tags cuda -run X ./engine/cuda)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(pwd)/.cache/cudasim
make -s -C engine/cuda/sim O="$out"
export LD_LIBRARY_PATH="$out${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The simulated cuBLAS and cuSOLVER compute with OpenBLAS, on one thread unless told otherwise:
# between calls, the idle threads of its pool spin on sched_yield, which took more CPU than the
# simulation itself (TestConformance: 16.5 s of CPU time, 6.4 s on one thread).
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
# C through scripts/cuda-cc, as make's cuda targets: gorgonia.org/cu gets the CUDA 13
# compatibility header (engine/cuda/compat/cuda13.h; nothing changes below CUDA 13)
case ${CC:-} in
*/scripts/cuda-cc) ;;
*) export CUDA_CC=${CC:-cc} CC=$(pwd)/scripts/cuda-cc ;;
esac
if [ $# -gt 0 ]; then
	exec "$@"
fi
go=${GO:-go}
# The runs below are independent processes, each on one core (the simulation is single-threaded),
# so they run side by side, as many at a time as there are cores (scripts/jobs.sh; JOBS=N to
# change), longest first; each one's log is kept in .cache/cudasim/logs.
. scripts/jobs.sh
JOBS_LOGS=$out/logs
rm -rf "$JOBS_LOGS"
# The -test.run patterns below: each alternative must name a test (one that names nothing is
# no test run, and a pass). The runs for them alone (TF32 rounded to nearest, the race detector,
# the small device) fail where a test skips (no_skips).
overlapping='TestStreamedBrainData|TestLargeOffsets|TestBatching|TestMatchesCPU|TestRandomConfigurations|TestDecompositionOverlap|TestLookahead|TestFaultInjection|TestHandOverWaitFails|TestEventPoolGrowthFails'
race_tests='TestStreamedBrainData|TestLargeOffsets|TestBatching|TestLookahead'
tf32_tests='TestMatchesCPU/.*/tf32|TestSplitTF32Product|TestAlignedProducts/loo_tf32|TestTF32NearExactDual|TestTF32LOOPenalties'
larger_tests='^TestBrainDataLargerThanDevice$'
for pattern in "$overlapping" "$race_tests" "$tf32_tests" "$larger_tests"; do
	scripts/test-patterns.sh -tags cuda "$pattern" ./engine/cuda
done
# engine/cuda's and bench's test binaries are built once for all the runs below (each link, cgo
# against the simulated libraries, took 7-15 s on CI's two cores) and run in their package's
# folder as go test runs them.
bin=$out/test
mkdir -p "$bin"
"$go" test -tags cuda -c -o "$bin/" ./engine/cuda ./bench
cudatest() { # package folder, then the flags for its test binary (-test.v: a skip is logged)
	local pkg=$1
	shift
	cd "$pkg" && "$bin/$(basename "$pkg").test" -test.timeout=10m -test.paniconexit0 -test.v "$@"
}
shards() { # package folder, number of shards, pattern: -test.run patterns splitting its tests
	(cd "$1" && test_shards "$bin/$(basename "$1").test" "$2" "$3")
}
# The commands' tests, all but those in the files below, on file formats, masks, hemispheres and
# the study's metrics, and the crash tests (outputs killed at every step on disk): they score on
# the simulated device too (the cuda build's default), but through the same code as the tests
# kept, and `make test` runs them on the CPU (new test files are run here unless added to the
# list)
format_tests=$(cd cmd/brainalign && sed -n 's/^func \(Test[A-Za-z0-9_]*\)(t \*testing\.T).*/\1/p' \
	bundle_test.go ceiling_test.go cifti_test.go crash_cmds_test.go crash_test.go dirmode_perm_test.go fif_cli_test.go fif_ids_test.go \
	hemispheres_test.go inputs_test.go jsonsafe_test.go mask_test.go metricfix_test.go metrics_cli_test.go \
	out_check_test.go overwrite_guard_test.go rank_test.go scaling_sweeps_test.go scaling_test.go \
	synth_commands_test.go | paste -sd'|')
job "cmd/brainalign (cudasim)" "$go" test -tags cuda -count=1 -short -v -skip "^($format_tests)\$" ./cmd/brainalign
# Every test of engine/cuda, in eight shards (a test takes up to 20 s, the package 140 s), on a simulated device of 1 GiB whose streams run
# their work as late as allowed (a missing wait reads stale data), the fault sweeps reduced (every
# call site, told apart by the bytes it moves, failed once: 27 s; the short sweep's first and
# last occurrences with both error kinds took 73 s here, and the full one runs without -short) ...
runs=$(shards engine/cuda "${CUDASIM_SHARDS:-8}" .) # (not in the for loop: set -e checks it here)
i=0
for run in $runs; do
	i=$((i + 1))
	job "engine/cuda shard $i (cudasim)" FAULTS_SWEEP=reduced cudatest engine/cuda -test.short -test.run "$run"
done
# ... the tests that overlap copies with compute again, under random stream interleavings (seeds
# from CUDASIM_SEEDS, default three; CI runs one, chosen by the commit, to stay within its time),
# with a reduced fault sweep (the error paths with queued work completing in other orders) ...
for seed in ${CUDASIM_SEEDS:-1 2 3}; do
	runs=$(shards engine/cuda 2 "$overlapping")
	i=0
	for run in $runs; do
		i=$((i + 1))
		job "engine/cuda random stream interleavings, seed $seed, shard $i (cudasim)" \
			FAULTS_SWEEP=reduced CUDASIM_STREAMS="random:$seed" cudatest engine/cuda -test.run "$run"
	done
done
# ... with the race detector (the host gather of the next batch runs on its own goroutine), and
# cgo's full pointer checks (GOEXPERIMENT=cgocheck2: a Go pointer stored into C memory stops the
# run; the same build cost, the race runtime being built apart anyway) ...
job "engine/cuda -race (cudasim)" CUDASIM_STREAMS=random:4 GOEXPERIMENT=cgocheck2 no_skips "$go" test -race -tags cuda -count=1 -v \
	-run "$race_tests" ./engine/cuda
# ... bench's tests and the benchmarks' code paths, once ...
job "bench (cudasim)" cudatest bench -test.short
job "engine/cuda benchmarks once (cudasim)" cudatest engine/cuda -test.short -test.run XXX -test.bench . -test.benchtime 1x
job "bench benchmarks once (cudasim)" cudatest bench -test.short -test.run XXX -test.bench . -test.benchtime 1x
# ... TF32 with the inputs rounded to nearest as well as truncated (the default) ...
job "engine/cuda TF32 rounded to nearest (cudasim)" CUDASIM_TF32=nearest no_skips cudatest engine/cuda -test.run "$tf32_tests"
# ... and brain data 1.5 times the whole device (8 MiB), which only a small device can afford.
job "engine/cuda brain data larger than the device (cudasim)" CUDASIM_MEMORY=8M no_skips cudatest engine/cuda \
	-test.run "$larger_tests"
run_jobs
echo "cudasim: the cuda build passed on the host simulation (logs in $JOBS_LOGS)"
