#!/usr/bin/env bash
# The `make test` runner: scripts/test.sh <unit test binaries...>, from the repo root, after
# the build. Runs each cmocka unit binary, then the end-to-end suites (pytest + boto3 + the
# AWS CLI in tests/e2e, node's test runner + @aws-sdk/client-s3 in tests/js, chromium driven
# by playwright-core in tests/browser), prints each
# suite's own output and ends with one line: "N passed, M failed" (totals of all suites).
# Exits 1 if anything failed or a suite could not run; a crashed suite counts as at least
# one failure. TEST_FILTER is passed to pytest -k; COFFER_BIN (a sanitizer build, say) is
# used by every end-to-end suite. COFFER_SAN_BIN (ASan+UBSan) reruns the pytest suite and
# COFFER_TSAN_BIN (ThreadSanitizer) its concurrency tests against those builds.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
# For the TSan unit tests and server; options the caller set come last and win.
export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp second_deadlock_stack=1${TSAN_OPTIONS:+ $TSAN_OPTIONS}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

total_pass=0
total_fail=0
summary=()

# count LABEL PASS FAIL
count() {
    total_pass=$((total_pass + $2))
    total_fail=$((total_fail + $3))
    summary+=("$(printf '%-28s %5d passed, %d failed' "$1" "$2" "$3")")
}

# The sum of the numbers a sed expression prints, one a line (0 if none).
sum_matches() {
    sed -n "$1" "$2" | awk '{ s += $1 } END { print s + 0 }'
}

# ---- unit tests (cmocka)
for bin in "$@"; do
    echo "==> unit: $bin"
    out="$tmp/unit.out"
    if [ -x "$bin" ]; then
        "$bin" >"$out" 2>&1
        rc=$?
        cat "$out"
    else
        echo "test: $bin is missing or not executable" >"$out"
        cat "$out"
        rc=127
    fi
    pass=$(sum_matches 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$out")
    fail=$(sum_matches 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s).*/\1/p' "$out")
    if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
        echo "test: $bin exited with status $rc"
        fail=1
    fi
    if [ "$pass" -eq 0 ] && [ "$fail" -eq 0 ]; then
        echo "test: $bin ran no test"
        fail=1
    fi
    count "unit ${bin#build/}" "$pass" "$fail"
done

# ---- end to end: pytest, boto3, AWS CLI; once against the normal build and, when
# COFFER_SAN_BIN names one, once more against the ASan+UBSan build; when COFFER_TSAN_BIN names
# one, the tests below that drive the server from many threads against the ThreadSanitizer
# build (5-15x slower: not the whole suite). The fixtures fail a test whose server log holds
# a sanitizer report.
tsan_tests=(
    tests/e2e/test_concurrency.py
    tests/e2e/test_connections.py
    tests/e2e/test_crash.py
    tests/e2e/test_cred_lifecycle.py
    tests/e2e/test_delegation.py
    tests/e2e/test_multipart.py::test_overwrite_and_delete_collect_parts
    tests/e2e/test_multipart.py::test_get_streams_one_version_while_overwritten
    tests/e2e/test_multipart.py::test_concurrent_reads_and_overwrites
    tests/e2e/test_multipart.py::test_parallel_uploads
    tests/e2e/test_delete_objects.py::test_delete_1000_keys
    tests/e2e/test_delete_objects.py::test_unicode_and_special_keys
    tests/e2e/test_lifecycle.py::test_sweeper_applies_the_rules
    tests/e2e/test_lifecycle.py::test_sweeper_skips_rewritten_objects
    tests/e2e/test_payload.py::test_long_bodies_concurrently
    tests/e2e/test_payload.py::test_long_body_cut_short
    tests/e2e/test_payload.py::test_long_body_bad_digest
    tests/e2e/test_conditional_delete.py::test_concurrent_conditional_deletes_one_wins
    tests/e2e/test_conditional_delete.py::test_delete_racing_overwrites_never_removes_a_newer_version
)
# run_pytest LABEL BINARY TAG [TEST PATH...] (default: tests/e2e)
run_pytest() {
    local label=$1 bin=$2 tag=$3
    shift 3
    local paths=("${@:-tests/e2e}")
    echo "==> $label: /usr/bin/python3 -m pytest ${paths[*]}${TEST_FILTER:+ -k $TEST_FILTER} ($bin)"
    xml="$tmp/e2e-$tag.xml"
    filter=()
    [ -n "${TEST_FILTER:-}" ] && filter=(-k "$TEST_FILTER")
    COFFER_BIN="$bin" /usr/bin/python3 -m pytest -q -p no:cacheprovider --junitxml="$xml" "${filter[@]}" "${paths[@]}"
    rc=$?
    if [ -f "$xml" ]; then
        read -r pass fail < <(/usr/bin/python3 scripts/junit_count.py "$xml") || { pass=0; fail=1; }
    else
        pass=0
        fail=0
    fi
    if [ "$rc" -eq 5 ] && [ -n "${TEST_FILTER:-}" ]; then
        : # the filter selected no e2e test
    elif [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
        echo "test: pytest exited with status $rc"
        fail=1
    elif [ "$rc" -eq 0 ] && [ "$pass" -eq 0 ]; then
        echo "test: pytest ran no test"
        fail=1
    fi
    count "$label" "$pass" "$fail"
}
run_pytest "e2e (pytest)" "${COFFER_BIN:-$PWD/bin/cofferd}" default
if [ -n "${COFFER_SAN_BIN:-}" ]; then
    run_pytest "e2e sanitizers (pytest)" "$COFFER_SAN_BIN" asan
fi
if [ -n "${COFFER_TSAN_BIN:-}" ]; then
    run_pytest "e2e tsan (pytest)" "$COFFER_TSAN_BIN" tsan "${tsan_tests[@]}"
fi

# ---- end to end: node's test runner over DIR (npm ci first if needed), counted as LABEL
node_suite() {
    local label=$1 dir=$2 tap="$tmp/$(basename "$2").tap" rc=0 pass=0 fail=0
    echo "==> $label: node --test $dir/"
    if [ ! -d "$dir/node_modules" ]; then
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || rc=$?
    fi
    if [ "$rc" -eq 0 ]; then
        node --test --test-reporter=spec --test-reporter-destination=stdout \
            --test-reporter=tap --test-reporter-destination="$tap" "$dir/"
        rc=$?
    else
        echo "test: npm ci in $dir failed"
    fi
    if [ -f "$tap" ]; then
        pass=$(sum_matches 's/^# pass \([0-9][0-9]*\)$/\1/p' "$tap")
        fail=$(($(sum_matches 's/^# fail \([0-9][0-9]*\)$/\1/p' "$tap") +
            $(sum_matches 's/^# cancelled \([0-9][0-9]*\)$/\1/p' "$tap")))
    fi
    if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
        echo "test: node --test exited with status $rc"
        fail=1
    elif [ "$pass" -eq 0 ] && [ "$fail" -eq 0 ]; then
        echo "test: node --test ran no test"
        fail=1
    fi
    count "$label (node --test)" "$pass" "$fail"
}

# @aws-sdk/client-s3; then a real browser (Debian's chromium via playwright-core).
node_suite js tests/js
node_suite browser tests/browser

echo
echo "==> summary"
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
