#!/usr/bin/env bash
# Runs the libFuzzer targets, one after the other: fuzz/run.sh full|smoke <target binaries...>
# (from the repo root; `make fuzz` and `make fuzz-smoke` call it). FUZZ_SECONDS per target.
#
# Both modes first replay fuzz/regressions/<target>/* (every crash found so far), then fuzz
# with fuzz/s3.dict and the target's -max_len below:
#   full:  the working corpus build/fuzz/corpus/<target> (kept between runs, so coverage
#          accumulates) plus the committed seeds fuzz/corpus/<target> (read only);
#   smoke: a temporary copy of the seeds, so nothing in the tree grows.
# Any crash, leak, timeout (-timeout below) or out-of-memory fails the target; the input is
# kept as fuzz/crashes/<target>-crash-<sha1> (or leak-, timeout-, oom-). Prints one line per
# target ("fuzz sigv2: 123456 runs, ok") and ends with "fuzz: N passed, M failed"; exits 1 if
# any failed.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
mode=${1:-}
shift || true
case $mode in
full | smoke) ;;
*)
    echo "usage: $0 full|smoke <fuzz target binaries...>" >&2
    exit 2
    ;;
esac
seconds=${FUZZ_SECONDS:-60}
timeout_s=${FUZZ_TIMEOUT:-10}
crashes=fuzz/crashes
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$crashes"

# UBSan reports are fatal (-fno-sanitize-recover) and should say where.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

# Largest input worth mutating, per target: a little over the biggest real input.
max_len() {
    case $1 in
    fuzz_time) echo 128 ;;
    fuzz_cidr | fuzz_range_cond) echo 512 ;;
    fuzz_str | fuzz_uri) echo 2048 ;;
    fuzz_sigv4_* | fuzz_sigv2 | fuzz_admin_json | fuzz_post_policy | fuzz_checksum) echo 4096 ;;
    *) echo 8192 ;; # chunked, xml, policy, formdata
    esac
}

pass=0
fail=0
for bin in "$@"; do
    name=$(basename "$bin")
    short=${name#fuzz_}
    log="$tmp/$name.log"
    if [ ! -x "$bin" ]; then
        echo "fuzz $short: FAILED (no binary $bin)"
        fail=$((fail + 1))
        continue
    fi

    # Known crashers first: each must now run clean.
    regs=()
    if [ -d "fuzz/regressions/$name" ]; then
        mapfile -t regs < <(find "fuzz/regressions/$name" -type f | sort)
    fi
    if [ ${#regs[@]} -gt 0 ] &&
        ! "$bin" -timeout="$timeout_s" "${regs[@]}" >"$log" 2>&1; then
        echo "fuzz $short: FAILED replaying fuzz/regressions/$name/"
        grep -E 'Running:|ERROR|SUMMARY|property failed|runtime error' "$log" | tail -n 8 |
            sed 's/^/    /'
        fail=$((fail + 1))
        continue
    fi

    if [ "$mode" = full ]; then
        work="build/fuzz/corpus/$name"
    else
        work="$tmp/corpus-$name"
    fi
    mkdir -p "$work"
    seeds=()
    if [ -d "fuzz/corpus/$name" ]; then
        if [ "$mode" = full ]; then
            seeds=("fuzz/corpus/$name")
        else
            cp -r "fuzz/corpus/$name/." "$work/"
        fi
    fi
    "$bin" -max_total_time="$seconds" -max_len="$(max_len "$name")" -timeout="$timeout_s" \
        -rss_limit_mb=2048 -dict=fuzz/s3.dict -print_final_stats=1 \
        -artifact_prefix="$crashes/$name-" "$work" "${seeds[@]}" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        if [ "$mode" = full ]; then
            echo "fuzz $short: ${runs:-0} runs, ${cov:+$cov, }ok"
        else
            echo "fuzz $short: ${runs:-0} runs, ok"
        fi
        pass=$((pass + 1))
    else
        saved=$(sed -n "s/.*Test unit written to \(.*\)$/\1/p" "$log" | tail -n 1)
        echo "fuzz $short: FAILED after ${runs:-?} runs (exit $rc)${saved:+, input saved as $saved}"
        grep -E 'ERROR|SUMMARY|property failed|runtime error|#[0-5] 0x' "$log" | head -n 12 |
            sed 's/^/    /'
        fail=$((fail + 1))
    fi
done

echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
