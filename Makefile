# brainalign: build, test and benchmark. `make help` lists the targets.
GO      ?= go
PKGS    ?= ./...
BIN     ?= bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# staticcheck, pinned; run through the module proxy (nothing to install)
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
# fails when an alternative of a -run or -skip pattern names no test of the packages
TEST_PATTERNS := GO='$(GO)' scripts/test-patterns.sh

.PHONY: help build test vet lint fmt-check bench bench-medium demo fixtures \
        deps-cuda deps-openblas deps-oracle deps-arm64 build-cuda build-openblas kernels check-ptx ci-cuda ci-openblas test-cudasim \
        test-arm64 test-race race-packages race-tests test-unprivileged

help:
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## pure-Go binary (no cgo), runs anywhere: bin/brainalign
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/brainalign ./cmd/brainalign

# The benchmarks in a second go command: given -bench, go test runs its packages' binaries one at
# a time (so that benchmarks do not share the cores), the tests too; without it, side by side.
test: fmt-check vet lint ## gofmt check, go vet, staticcheck, and every test (each benchmark also runs once)
	$(GO) test -count=1 -short $(PKGS)
	$(GO) test -count=1 -short -run '^$$' -bench=. -benchtime=1x $(PKGS)

vet:
	$(GO) vet $(PKGS)

test-unprivileged: ## as root (CI), the tests of read-only output folders again as nobody: they skip as root
	GO=$(GO) scripts/test-unprivileged.sh

# The race detector (which needs cgo: a C compiler) on the tests that drive the pure-Go build's
# goroutines: results independent of the cores, cancellation and the folds decomposed ahead in the
# CPU engine; sweep's prefetcher, merge lock and shards (not its planted study, a minute of
# scoring); HDF5's chunk workers, FIF's and NIfTI's parallel decoding; the eigensolver's and
# GEMM's workers; and the packages of parallel loops whole. 40 s on 2 cores (warm build cache);
# every package's whole suite under -race takes 13 minutes (cmd/brainalign 6).
# cgo set: without a C compiler the error names it, instead of '-race requires cgo'
RACE_GO := CGO_ENABLED=1 $(GO)
test-race: ## the concurrent code's tests under the race detector
	@$(TEST_PATTERNS) '$(RACE_SKIP)' ./sweep/ ./rsa/
	@$(TEST_PATTERNS) '$(RACE_RUN)' ./fallback/ ./array/ ./internal/eigen/ ./internal/gemm/
	@$(MAKE) --no-print-directory -j2 -Otarget race-packages race-tests
race-packages:
	$(RACE_GO) test -race -short -count=1 -skip '^($(RACE_SKIP))$$' ./ceiling/ ./rsa/ ./metrics/ ./engine/ ./sweep/
race-tests:
	$(RACE_GO) test -race -short -count=1 -run '$(RACE_RUN)' ./fallback/ ./array/ ./internal/eigen/ ./internal/gemm/
# Two go commands, each running its packages side by side (one per package took half as long again),
# and the two side by side (one after the other, each spent most of its time on one package, sweep
# or fallback, on one core: 67 s). The names below are those of one package each: sweep's planted
# study and rsa's debiased CKA at full size (10 s under -race; its GEMM's workers are raced in
# GEMM's tests), and fallback's, array's, eigen's and GEMM's tests of their goroutines;
# scripts/test-patterns.sh fails when one names no test (a renamed test would drop out of -run, or
# run under -race past -skip).
RACE_SKIP := TestAlignmentFromSweepFolders|TestPlantedSpatial|TestPlantedTemporal|TestPlantedHalfTimes|TestFDRMaskKeepsNoiseOut|TestTemporalRefusesSubjectsOfOtherTimes|TestDebiasedCKAPlanted|TestDebiasedCKAManyTargets
RACE_RUN := IndependentOfCores|TestCancel|TestPrefetch|TestReadHDF5Chunk|TestReadTargets|TestFIF|TestNeuroPieces|TestNeuroMatchesNiBabel|TestCloseSemantics|CoresIndependent|TestSymContextCancel

lint: ## staticcheck (the cuda and openblas builds' in ci-cuda and ci-openblas)
	$(STATICCHECK) $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')) || exit 1; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

bench: ## CPU engine benchmarks (small and medium); compare runs with benchstat
	$(GO) test -run XXX -bench . -benchmem -count=1 ./bench/

demo: build ## the built-in synthetic study
	$(BIN)/brainalign demo

fixtures: deps-oracle ## regenerate scikit-learn / SciPy / NiBabel / MNE / h5py fixtures in testdata/
	/usr/bin/python3 testdata/gen_parity.py
	/usr/bin/python3 testdata/gen_stats.py
	/usr/bin/python3 testdata/gen_rsa.py
	/usr/bin/python3 testdata/gen_ceiling.py
	/usr/bin/python3 testdata/gen_neuro.py
	/usr/bin/python3 testdata/gen_fif.py
	/usr/bin/python3 testdata/gen_hdf5.py
	/usr/bin/python3 testdata/gen_folds.py
	/usr/bin/python3 testdata/gen_ids.py

deps-cuda: ## Debian's CUDA 11.8 toolkit (enables non-free)
	scripts/install-deps.sh cuda
deps-openblas:
	scripts/install-deps.sh openblas
deps-oracle:
	scripts/install-deps.sh oracle

deps-arm64:
	scripts/install-deps.sh arm64

test-arm64: deps-arm64 ## build and vet for arm64, type-check and vet for macOS, Windows, 386; arm64 kernel and engine tests under QEMU
	scripts/test-arm64.sh

# --- CUDA build (tag cuda). Binaries need a GPU to start: gorgonia.org/cu exits in init without one.
kernels: deps-cuda ## compile kernels/*.cu to the checked-in PTX
	$(MAKE) -C kernels

check-ptx: deps-cuda ## fail when the checked-in PTX differs from a fresh build
	$(MAKE) -C kernels check

# The cuda build's go commands compile C through scripts/cuda-cc (the compiler of $(CC)), which
# includes engine/cuda/compat/cuda13.h first in gorgonia.org/cu's C files: with it, that module
# compiles against CUDA 13 as well as 11.8 and 12 (see docs/cuda.md).
CUDA_GO := CUDA_CC='$(CC)' CC='$(CURDIR)/scripts/cuda-cc' $(GO)

# Uses the CUDA headers and libraries the C compiler finds (CGO_CFLAGS/CGO_LDFLAGS on a cluster);
# only where there are none does it install Debian's toolkit.
build-cuda: ## binary with both engines: bin/brainalign-cuda
	@echo '#include <cublas_v2.h>' | $(CC) $(CGO_CFLAGS) -E -x c - >/dev/null 2>&1 || $(MAKE) deps-cuda
	$(CUDA_GO) build -tags cuda -ldflags '$(LDFLAGS)' -o $(BIN)/brainalign-cuda ./cmd/brainalign

# Every package's tests compile with the tag: test-cudasim builds (and runs) those of the three it
# changes (engine/cuda, bench, cmd/brainalign), so they are not linked a second time before it.
ci-cuda: deps-cuda check-ptx ## what CI can check of the cuda build without a GPU
	$(CUDA_GO) build -tags cuda ./...
	$(CUDA_GO) vet -tags cuda ./...
	CUDA_CC='$(CC)' CC='$(CURDIR)/scripts/cuda-cc' $(STATICCHECK) -tags cuda ./...
	@pkgs=$$($(GO) list -tags cuda -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...) || exit 1; \
	for p in $$pkgs; do \
		case $$p in */engine/cuda|*/bench|*/cmd/brainalign) continue;; esac; \
		echo "compile tests: $$p"; $(CUDA_GO) test -tags cuda -run XXX -c -o /dev/null $$p || exit 1; done
	$(MAKE) test-cudasim

# The cuda build's tests on cudasim (engine/cuda/sim): the driver, cuBLAS and cuSOLVER simulated on
# the host, the kernels compiled from their .cu sources for the host. No GPU needed.
test-cudasim: deps-cuda deps-openblas ## cuda-build tests on the host simulation of CUDA
	GO=$(GO) CC='$(CC)' scripts/cudasim.sh

# --- OpenBLAS build (tag openblas): the fast CPU path, cgo.
build-openblas: deps-openblas ## CPU engine on OpenBLAS/LAPACKE: bin/brainalign-openblas
	$(GO) build -tags openblas -ldflags '$(LDFLAGS)' -o $(BIN)/brainalign-openblas ./cmd/brainalign

# OPENBLAS_THREAD_TIMEOUT=4: OpenBLAS's idle threads sleep after 2^4 cycles, not 2^28, of
# spinning on sched_yield between calls (the same threads do the same work: the numbers do not
# change), which took a third of the tests' CPU time here.
ci-openblas: deps-openblas
	$(GO) vet -tags openblas ./...
	$(STATICCHECK) -tags openblas ./...
	OPENBLAS_THREAD_TIMEOUT=4 $(GO) test -tags openblas -count=1 -short ./fallback/ ./engine/... ./internal/eigen/
