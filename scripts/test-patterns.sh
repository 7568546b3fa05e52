#!/usr/bin/env bash
# Fails when an alternative of a go test -run, -skip or -bench pattern names nothing: `go test
# -run X` where X matches no test prints "no tests to run" and passes, so a typo or a renamed
# test makes a step an empty pass (in a -skip list, it runs what was meant to be left out).
#
#   scripts/test-patterns.sh [-tags TAGS] PATTERN PKG...
#
# Each top-level alternative of PATTERN (A|B|C; ^(A|B|C)$ as ^(A)$, ^(B)$ and ^(C)$) must match,
# as go test matches it, the name of a test, benchmark, fuzz target or example declared in the
# packages' test files: those go list selects for this GOOS, GOARCH and TAGS (GOARCH=arm64
# scripts/test-patterns.sh ... checks the arm64 build's). Only the top-level part of A/B (a
# subtest) is checked. Reads the sources: nothing is compiled.
set -euo pipefail
tags=
if [ "${1:-}" = -tags ]; then
	tags=${2:?-tags needs a value}
	shift 2
fi
[ $# -ge 2 ] || { echo "usage: scripts/test-patterns.sh [-tags TAGS] PATTERN PKG..." >&2; exit 2; }
pattern=$1
shift

# alternatives PATTERN: its top-level alternatives, one a line, each up to its first top-level /
# (go test splits at | and / outside brackets and parentheses); ^(A|B)$ as ^(A)$ and ^(B)$.
alternatives() {
	local p=$1 i c depth=0 class=0 alt='' sub=0 inner
	if [[ $p == '^('*')$' ]]; then
		inner=${p:2:${#p}-4}
		if balanced "$inner" && [ "$(alternatives "$inner" | wc -l)" -gt 1 ]; then
			alternatives "$inner" | sed 's/.*/^(&)$/'
			return
		fi
	fi
	for ((i = 0; i < ${#p}; i++)); do
		c=${p:i:1}
		case $c in
		\\) c=${p:i:2} i=$((i + 1)) ;;
		\[) class=$((class + 1)) ;;
		\]) ((class == 0)) || class=$((class - 1)) ;;
		\() ((class > 0)) || depth=$((depth + 1)) ;;
		\)) ((class > 0)) || depth=$((depth - 1)) ;;
		'|') if ((class == 0 && depth == 0)); then printf '%s\n' "$alt"; alt='' sub=0; continue; fi ;;
		/) if ((class == 0 && depth == 0)); then sub=1; fi ;;
		esac
		((sub)) || alt+=$c
	done
	printf '%s\n' "$alt"
}

# balanced PATTERN: its parentheses (outside brackets) close in order: the ( of ^(...)$ is the
# one its ) closes
balanced() {
	local p=$1 i c depth=0 class=0
	for ((i = 0; i < ${#p}; i++)); do
		c=${p:i:1}
		case $c in
		\\) i=$((i + 1)) ;;
		\[) class=$((class + 1)) ;;
		\]) ((class == 0)) || class=$((class - 1)) ;;
		\() ((class > 0)) || depth=$((depth + 1)) ;;
		\)) if ((class == 0)); then depth=$((depth - 1)); ((depth >= 0)) || return 1; fi ;;
		esac
	done
	((depth == 0))
}

list=$(${GO:-go} list ${tags:+-tags "$tags"} -f '{{$d := .Dir}}{{range .TestGoFiles}}{{$d}}/{{.}}
{{end}}{{range .XTestGoFiles}}{{$d}}/{{.}}
{{end}}' "$@")
[ -n "$list" ] || { echo "test-patterns: no test files in $*${tags:+ (tags $tags)}" >&2; exit 1; }
mapfile -t files <<<"$list"
names=$(sed -n 's/^func \(\(Test\|Benchmark\|Fuzz\|Example\)[A-Za-z0-9_]*\)(.*/\1/p' "${files[@]}")
rc=0
while read -r alt; do
	if ! grep -qE -- "$alt" <<<"$names"; then
		echo "test-patterns: '$alt' (of pattern '$pattern') names no test in $*${tags:+ (tags $tags)}" >&2
		rc=1
	fi
done < <(alternatives "$pattern")
exit $rc
