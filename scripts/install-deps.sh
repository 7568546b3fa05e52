#!/usr/bin/env bash
# Installs the Debian packages a part of the build needs. Idempotent; run as root (or with sudo).
#   scripts/install-deps.sh cuda      Debian's CUDA 11.8 toolkit (non-free): headers, cuBLAS, cuSOLVER, nvcc
#   scripts/install-deps.sh openblas  OpenBLAS + LAPACKE for the optional `openblas` CPU build
#   scripts/install-deps.sh oracle    scikit-learn, SciPy, NiBabel, MNE, h5py and pandas, to regenerate the test fixtures
#   scripts/install-deps.sh arm64     QEMU's user-mode emulator, to run the arm64 build's tests here
set -euo pipefail
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive

want=()
for part in "$@"; do
  case "$part" in
    cuda) want+=(nvidia-cuda-toolkit nvidia-cuda-dev) ;;
    openblas) want+=(libopenblas-dev liblapacke-dev) ;;
    oracle) want+=(python3-sklearn python3-scipy python3-numpy python3-nibabel python3-mne python3-h5py python3-pandas) ;;
    arm64) want+=(qemu-user-static) ;;
    *) echo "install-deps: unknown part '$part' (cuda|openblas|oracle|arm64)" >&2; exit 2 ;;
  esac
done
[ ${#want[@]} -gt 0 ] || { echo "usage: $0 cuda|openblas|oracle|arm64 ..." >&2; exit 2; }

missing=()
for p in "${want[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0

# CUDA lives in Debian's non-free component; enable contrib and non-free once.
src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ] && ! grep -q '^Components:.*non-free' "$src"; then
  $sudo sed -i -E 's/^Components: main$/Components: main contrib non-free/' "$src"
fi
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
