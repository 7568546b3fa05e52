#!/usr/bin/env bash
# The tests of outputs in folders that cannot be written (mode 0555) skip as root, whom
# permissions do not bind, and CI runs as root: there they never ran. As root, this runs them
# again as nobody (setpriv, util-linux) and fails if any of them skips; as another user, make
# test has run them already and this only says so.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/jobs.sh
go=${GO:-go}
outdir_tests='^(TestCheckWritable|TestReplaceReadOnly)$'
cmd_tests='^(TestUnwritableOutFailsFirst|TestBenchRefusesFirst|TestSweepDryRunOutAndSlurmCLI)$'
scripts/test-patterns.sh "$outdir_tests" ./internal/outdir
scripts/test-patterns.sh "$cmd_tests" ./cmd/brainalign
if [ "$(id -u)" != 0 ]; then
	echo "test-unprivileged: not root, so make test ran them"
	exit 0
fi
command -v setpriv >/dev/null || { echo "test-unprivileged: setpriv not found (Debian's util-linux)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
"$go" test -c -o "$work/outdir.test" ./internal/outdir
"$go" test -c -o "$work/brainalign.test" ./cmd/brainalign
# nobody's own temporary folder and home, and the tests' working folder (they read no testdata)
mkdir "$work/tmp"
chown 65534:65534 "$work/tmp"
setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$work/outdir.test" ||
	{ echo "test-unprivileged: nobody cannot reach $work (TMPDIR=${TMPDIR:-/tmp}: a folder others can enter is needed)" >&2; exit 1; }
as_nobody() { # test binary, -test.run pattern
	(cd "$work/tmp" && no_skips setpriv --reuid=65534 --regid=65534 --clear-groups \
		env HOME="$work/tmp" TMPDIR="$work/tmp" "$1" -test.v -test.count=1 -test.paniconexit0 -test.run "$2")
}
as_nobody "$work/outdir.test" "$outdir_tests"
as_nobody "$work/brainalign.test" "$cmd_tests"
echo "test-unprivileged: passed as nobody"
