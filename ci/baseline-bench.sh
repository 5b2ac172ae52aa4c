#!/usr/bin/env bash
# Measures the regression gate itself: how often it cries wolf, and how often it catches a
# real slow-down. Runs a scenario against the embedded reference target N times, then
#
#   1. compares consecutive unchanged runs (run i+1 vs run i): every "regressed" is a false
#      alarm — expect 0;
#   2. runs it N times with the target slowed by +20 % (`serve --slowdown 1.2`) and compares
#      each with an unchanged run: expect every one flagged;
#   3. the same at +5 %: below the default 10 % tolerance, so expect none flagged at the
#      defaults, and shows what a strict gate (`--max-regression 3%`) would catch.
#
# and prints a Markdown table. Usage:
#
#   ci/baseline-bench.sh [SCENARIO] [N]        # defaults: scenarios/cache.toml 10
#
# Environment: TARGET_ARGS (default "--latency","1ms"), NEXUS_BENCH (binary, default target/release/nexus-bench, built if missing),
# BENCH_DIR (work folder, default a fresh temporary one, kept), DURATION (e.g. 20s: passed
# as --duration), COMPARE_ARGS (extra `compare` flags for every comparison).
#
# The scenario's target must be `embedded:<api>`: the slow-down goes through
# `target.embedded_args`. Expect a long run: 3·N runs of the scenario, one after another.
# Run it on an otherwise idle machine; a busy one measures its neighbours.
set -euo pipefail

scenario=${1:-scenarios/cache.toml}
n=${2:-10}
if ((n < 2)); then
    echo "N must be at least 2 (10 or more for a meaningful rate)" >&2
    exit 2
fi
bin=${NEXUS_BENCH:-target/release/nexus-bench}
if [[ ! -x $bin ]]; then
    echo "building $bin" >&2
    cargo build --release --locked >&2
fi
work=${BENCH_DIR:-$(mktemp -d -t nexus-baseline-bench.XXXXXX)}
mkdir -p "$work"
read -r -a compare_extra <<<"${COMPARE_ARGS:-}"
# The reference target's responses take ~1 ms (TARGET_ARGS, `serve` flags as a TOML list
# body), so the slow-down — which stretches everything a request spends in the target —
# is a real +20 % / +5 % of the latency a client sees, not of a few microseconds.
base_args=${TARGET_ARGS:-'"--latency","1ms"'}
run_extra=()
if [[ -n ${DURATION:-} ]]; then
    run_extra+=(--duration "$DURATION")
fi

# run_one LABEL I [run args...]: one run into its own folder; prints its result.json.
run_one() {
    local label=$1 i=$2
    shift 2
    local out="$work/$label-$i"
    rm -rf "$out"
    local code=0
    "$bin" run "$scenario" --out "$out" --quiet --no-html --no-extra-outputs \
        "${run_extra[@]}" "$@" >"$out.log" 2>&1 || code=$?
    # 1 = an SLO failed: irrelevant here, the run is still a measurement.
    if ((code != 0 && code != 1)); then
        echo "run $label-$i failed (exit $code); see $out.log" >&2
        exit 2
    fi
    local result
    result=$(find "$out" -name result.json | sort | tail -n 1)
    if [[ -z $result ]]; then
        echo "run $label-$i wrote no result.json under $out" >&2
        exit 2
    fi
    echo "$result"
}

# judge BASE CURRENT NAME [compare flags...]: prints 1 when flagged as a regression, 0 when
# not; exits (through the caller's `flag=$(...)` and `set -e`) when it could not judge.
judge() {
    local base=$1 cur=$2 name=$3
    shift 3
    local code=0
    "$bin" compare "$base" "$cur" "${compare_extra[@]}" "$@" >"$work/compare-$name.txt" 2>&1 || code=$?
    case $code in
        0) echo 0 ;;
        1) echo 1 ;;
        *)
            echo "compare $name could not judge (exit $code); see $work/compare-$name.txt" >&2
            exit 2
            ;;
    esac
}

declare -a base slow20 slow5
for ((i = 0; i < n; i++)); do
    echo "unchanged run $((i + 1))/$n" >&2
    base[i]=$(run_one base "$i" --set "target.embedded_args=[$base_args]")
done
for ((i = 0; i < n; i++)); do
    echo "+20% run $((i + 1))/$n" >&2
    slow20[i]=$(run_one slow20 "$i" --set "target.embedded_args=[$base_args,\"--slowdown\",\"1.2\"]")
done
for ((i = 0; i < n; i++)); do
    echo "+5% run $((i + 1))/$n" >&2
    slow5[i]=$(run_one slow5 "$i" --set "target.embedded_args=[$base_args,\"--slowdown\",\"1.05\"]")
done

false_alarms=0
for ((i = 0; i + 1 < n; i++)); do
    flag=$(judge "${base[i]}" "${base[i + 1]}" "same-$i")
    false_alarms=$((false_alarms + flag))
done
# The slowed runs differ from the unchanged ones only in the embedded target's arguments;
# --force keeps the comparison going should a future version record those as a difference.
hit20=0 hit5=0 hit5_strict=0
for ((i = 0; i < n; i++)); do
    flag=$(judge "${base[i]}" "${slow20[i]}" "slow20-$i" --force)
    hit20=$((hit20 + flag))
    flag=$(judge "${base[i]}" "${slow5[i]}" "slow5-$i" --force)
    hit5=$((hit5 + flag))
    flag=$(judge "${base[i]}" "${slow5[i]}" "slow5-strict-$i" --force --max-regression 3%)
    hit5_strict=$((hit5_strict + flag))
done

rate() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", (b > 0 ? 100 * a / b : 0) }'; }
pairs=$((n - 1))
cat <<TABLE
### Regression gate: false alarms and detection ($scenario, $n runs each)

| experiment | comparisons | flagged as regressed | rate | expected |
|---|---|---|---|---|
| unchanged vs unchanged (consecutive) | $pairs | $false_alarms | $(rate "$false_alarms" "$pairs") | 0 % |
| +20 % slow-down vs unchanged | $n | $hit20 | $(rate "$hit20" "$n") | 100 % |
| +5 % slow-down vs unchanged (default 10 % tolerance) | $n | $hit5 | $(rate "$hit5" "$n") | 0 % |
| +5 % slow-down vs unchanged (\`--max-regression 3%\`) | $n | $hit5_strict | $(rate "$hit5_strict" "$n") | high |

Comparison outputs and run logs: \`$work\`.
TABLE
