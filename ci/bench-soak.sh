#!/usr/bin/env bash
# The generator's own memory over a soak-style run (issue #16): an open-model run of
# 3,000 requests/s spread over 20 request names against the embedded cache target, with
# nexus-bench's resident memory read from /proc once a second. Prints the RSS at the start,
# end and peak, the least-squares slope over the steady state (after the warm-up) in MB/s,
# the size of result.json, and the generator RSS trend nexus-bench recorded itself.
# The soak bounds: slope <= 0.05 MB/s and RSS <= 64 MB; the script exits 1 when either fails.
#
#   ci/bench-soak.sh                      # 3 minutes after a 20 s warm-up
#   DURATION=60s ci/bench-soak.sh
#
# Env: NEXUS_BENCH (binary; default target/release/nexus-bench, built unless NEXUS_NO_BUILD=1),
# DURATION (default 3m), WARMUP (default 20s), RATE (default 3000/s), NAMES (default 20).
# Not part of ci/test.sh: it takes minutes and judges one machine's allocator.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${NEXUS_BENCH:-$ROOT/target/release/nexus-bench}"
DURATION="${DURATION:-3m}"
WARMUP="${WARMUP:-20s}"
RATE="${RATE:-3000/s}"
NAMES="${NAMES:-20}"
MAX_SLOPE_MB_S=0.05
MAX_RSS_MB=64
if [[ ${NEXUS_NO_BUILD:-0} != 1 ]]; then
    echo "# building nexus-bench (release)" >&2
    (cd "$ROOT" && cargo build --release --locked -q) >&2
fi
[[ -x $BIN ]] || { echo "no nexus-bench binary at $BIN" >&2; exit 1; }

work="$(mktemp -d -t nexus-bench-soak.XXXXXX)"
pid=""
cleanup() {
    [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

scenario="$work/soak-rss.toml"
{
    printf 'name = "soak-rss"\n'
    printf 'description = "The generator'"'"'s memory: %s request names at %s."\n' "$NAMES" "$RATE"
    printf '[target]\nbase_url = "embedded:cache"\n'
    printf '[load]\nmodel = "open"\nrate = "%s"\nduration = "%s"\nwarmup = "%s"\n' \
        "$RATE" "$DURATION" "$WARMUP"
    for ((i = 0; i < NAMES; i++)); do
        printf '[[requests]]\nname = "get-%02d"\npath = "/api/v1/cache/get/k%d-{{ random_int(1, 200) }}"\n' "$i" "$i"
        printf 'expect = { status = [200, 404] }\n'
    done
} >"$scenario"

seconds_of() { case $1 in *m) echo $((${1%m} * 60)) ;; *s) echo "${1%s}" ;; *) echo "$1" ;; esac; }
warmup_s=$(seconds_of "$WARMUP")
duration_s=$(seconds_of "$DURATION")
"$BIN" run "$scenario" --out "$work/out" --quiet --no-html >"$work/stdout" 2>"$work/stderr" &
pid=$!
start=$(date +%s.%N)
: >"$work/rss"
while kill -0 "$pid" 2>/dev/null; do
    rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    now=$(date +%s.%N)
    [[ -n $rss_kb ]] && echo "$(echo "$now - $start" | bc -l) $rss_kb" >>"$work/rss"
    sleep 1
done
status=0
wait "$pid" || status=$?
pid=""
[[ $status -le 1 ]] || { echo "the run failed (exit $status):" >&2; cat "$work/stderr" >&2; exit 1; }

result=$(find "$work/out" -name result.json | head -n 1)
echo "RSS (MB) every 10 s: $(awk 'NR % 10 == 1 {printf "%.0f ", $2 / 1024}' "$work/rss")"
# The steady state: after the warm-up plus 5 s, until the end of the schedule (the drain and
# the writing of reports after it are not the run's memory).
rc=0
awk -v from="$((warmup_s + 5))" -v to="$((warmup_s + duration_s))" -v max_slope="$MAX_SLOPE_MB_S" -v max_rss="$MAX_RSS_MB" \
    -v size="$(stat -c %s "$result")" '
    { t[NR] = $1; mb[NR] = $2 / 1024; if (mb[NR] > peak) peak = mb[NR] }
    $1 >= from && $1 <= to && $2 > 0 { n++; sx += $1; sy += $2 / 1024; sxx += $1 * $1; sxy += $1 * $2 / 1024; last = NR }
    END {
        slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
        printf "samples: %d (steady: %d from %d s to %d s)\n", NR, n, from, to
        printf "RSS: %.1f MB at start, %.1f MB at the end of the steady state, peak %.1f MB\n", mb[1], mb[last], peak
        printf "RSS slope over the steady state: %.4f MB/s (bound %.2f MB/s)\n", slope, max_slope
        printf "result.json: %.1f KB\n", size / 1024
        bad = (slope > max_slope) || (peak > max_rss)
        if (bad) printf "FAIL: above the soak bounds (slope <= %.2f MB/s, RSS <= %d MB)\n", max_slope, max_rss
        exit bad
    }' "$work/rss" || rc=$?
trend=$(grep -o '"rss_trend": *{[^}]*}' "$result" || echo "(none)")
echo "nexus-bench's own record: $trend"
grep -o "the generator's memory grew[^\"]*" "$result" || true
exit $rc
