# Sourced by the scripts that run many test binaries (scripts/cudasim.sh; test-arm64.sh for
# failed_tests): runs the commands queued with `job` side by side, as many at a time as there are
# cores (JOBS=N to change), each one's output in a log of its own, so that test runs on one core
# each (the simulated device, a single package) use the whole machine. Needs bash 5.1 (wait -p);
# an older bash runs them one at a time.
#
#   job NAME [VAR=VALUE...] COMMAND [ARG...]
#                            queue a command (a function too, in a subshell of its own); queue
#                            the longest first: they start in the order queued
#   test_shards BIN N PATTERN
#                            the top-level tests of test binary BIN matching PATTERN (run from
#                            the package's folder) in N -test.run patterns: dealt round in
#                            alphabetical order, so that tests of a kind (named alike) and
#                            often of a length are spread over the shards; fails when it
#                            finds none (use as runs=$(test_shards ...), which set -e checks,
#                            not in a for loop's list, which it does not)
#   run_jobs                 run the queue; one line per job ("ok    NAME (T s)", and how many
#                            tests skipped where a test run with -v logs a skip), a failure's
#                            log after it; returns 1 if any failed; logs kept in $JOBS_LOGS
#   failed_tests LOG         a go test -v log's failed top-level tests, each whole but for
#                            its passes and skips (-v logs every test: a failure's lines may
#                            be far from the log's end), then the log's last lines (30 where
#                            no test failed: a build error, an exit)
#   no_skips COMMAND [ARG...]
#                            run a test command (-v) and fail if any of its tests skipped: for
#                            a job that exists to run tests that skip elsewhere

job_names=()
job_commands=()

job() {
	local name=$1
	shift
	local command
	printf -v command '%q ' "$@"
	job_names+=("$name")
	job_commands+=("$command")
}

test_shards() {
	local bin=$1 n=$2 pattern=$3 i=0 name names
	local -a shard
	names=$("$bin" -test.list "$pattern") || { echo "test_shards: $bin -test.list failed" >&2; return 1; }
	while read -r name; do
		case $name in Test* | Fuzz* | Example*) ;; *) continue ;; esac
		shard[i % n]+="${shard[i % n]:+|}$name"
		i=$((i + 1))
	done < <(sort <<<"$names")
	[ "$i" -gt 0 ] || { echo "test_shards: no test of $bin matches $pattern" >&2; return 1; }
	for ((i = 0; i < n; i++)); do
		[ -z "${shard[i]:-}" ] || echo "^(${shard[i]})\$"
	done
}

failed_tests() {
	awk '
		function emit(line) {
			if (shown < 200) print line
			else if (shown == 200) print "... (the rest in the log)"
			shown++
		}
		function flush(j) {
			if (failed) for (j = 1; j <= n; j++) emit(block[j])
			n = 0
			failed = 0
		}
		{ last[NR % 30] = $0 }
		/^=== RUN   [^\/]*$/ { flush() }
		/^=== (RUN|PAUSE|CONT|NAME) |^ *--- (PASS|SKIP): / { next }
		{ block[++n] = $0 }
		/--- FAIL|^panic: / { failed = 1 }
		END {
			flush()
			for (j = NR - (shown ? 2 : 29); j <= NR; j++) if (j > 0) print last[j % 30]
		}' "$1"
}

no_skips() {
	local log rc=0
	log=$(mktemp)
	"$@" >"$log" 2>&1 || rc=$?
	cat "$log"
	if grep -q -- '--- SKIP' "$log"; then
		echo "no_skips: skipped in a run that exists to run them:"
		grep -- '--- SKIP' "$log"
		rc=1
	fi
	rm -f "$log"
	return $rc
}

run_jobs() {
	local slots=${JOBS:-$(nproc 2>/dev/null || echo 2)} rc=0 i pid status
	JOBS_LOGS=${JOBS_LOGS:-$(mktemp -d)}
	mkdir -p "$JOBS_LOGS"
	if ((BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] < 501)); then
		slots=1
	fi
	local -A live=() started=() # the running jobs' index and start, by process id
	job_done() { # pid, exit status: the job's line, and its log if it failed
		local i=${live[$1]} skips
		unset "live[$1]"
		if [ "$2" -eq 0 ]; then
			skips=$(awk '/^ *--- SKIP/ { n++ } END { if (n) printf "; %d skipped", n }' "$JOBS_LOGS/$i.log")
			echo "ok    ${job_names[i]} ($((SECONDS - started[$1])) s$skips)"
		else
			rc=1
			echo "FAIL  ${job_names[i]} (exit $2; log $JOBS_LOGS/$i.log, its failed tests below):"
			failed_tests "$JOBS_LOGS/$i.log"
		fi
	}
	wait_one() {
		status=0
		if ((slots == 1)); then
			pid=${!live[*]}
			wait "$pid" || status=$?
		else
			wait -n -p pid "${!live[@]}" || status=$?
		fi
		job_done "$pid" "$status"
	}
	for i in "${!job_commands[@]}"; do
		while ((${#live[@]} >= slots)); do wait_one; done
		(eval "${job_commands[i]}") >"$JOBS_LOGS/$i.log" 2>&1 &
		live[$!]=$i
		started[$!]=$SECONDS
	done
	while ((${#live[@]} > 0)); do wait_one; done
	job_names=()
	job_commands=()
	return $rc
}
