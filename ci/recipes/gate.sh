#!/usr/bin/env bash
# The performance gate used by the CI recipes (github-actions.yml, gitlab-ci.yml), kept in a
# script so it runs the same on a laptop:
#
#   ci/recipes/gate.sh pr   scenarios/cache.toml   # run, compare with the baseline, gate
#   ci/recipes/gate.sh main scenarios/cache.toml   # run, gate on SLOs, store the new baseline
#
# Extra arguments after the scenario go to `nexus-bench run` (e.g. `--duration 30s`).
#
# Environment (all optional):
#   NEXUS_BENCH                 the binary                       [nexus-bench]
#   NEXUS_BENCH_OUT             parent folder of the run folder  [reports/ci]
#   NEXUS_BENCH_BASELINE        baseline name or path            [main]
#   NEXUS_BENCH_SKIP_BASELINE   1 = run without comparing (e.g. a PR that changes the scenario)
#   GITHUB_STEP_SUMMARY / GITHUB_OUTPUT   set by GitHub Actions: the run's summary.md is appended
#                               to the job summary, and `run_dir=<run folder>` is written out.
#
# Exit code: that of `nexus-bench run`: 0 pass, 1 SLO breach or regression, 2 could not judge
# (e.g. the baseline is of another scenario version), 130 interrupted.
set -euo pipefail

usage() {
    echo "usage: $0 pr|main SCENARIO [nexus-bench run arguments...]" >&2
    exit 2
}
[[ $# -ge 2 ]] || usage
mode=$1
scenario=$2
shift 2

bin=${NEXUS_BENCH:-nexus-bench}
out=${NEXUS_BENCH_OUT:-reports/ci}
baseline=${NEXUS_BENCH_BASELINE:-main}

# Whether the baseline exists. A name lives in reports/baselines/NAME/<scenario name>.json; we
# do not know the scenario name here, so any file in that folder counts.
have_baseline() {
    if [[ $baseline == */* || $baseline == *.json ]]; then
        [[ -e $baseline ]]
    else
        compgen -G "reports/baselines/$baseline/*.json" >/dev/null
    fi
}

args=(run "$scenario" --out "$out" --quiet)
case $mode in
    pr)
        if [[ ${NEXUS_BENCH_SKIP_BASELINE:-0} == 1 ]]; then
            echo "gate: NEXUS_BENCH_SKIP_BASELINE=1: gating on SLOs only"
        elif have_baseline; then
            args+=(--baseline "$baseline")
        else
            # First run of the recipe, or the cached baseline expired: gate on SLOs only.
            echo "::warning::no baseline '$baseline' found: gating on SLOs only (it is created by the next run on the main branch)"
        fi
        ;;
    main)
        args+=(--save-baseline "$baseline")
        ;;
    *) usage ;;
esac

mkdir -p "$out"
marker=$(mktemp)
trap 'rm -f "$marker"' EXIT

echo "gate: $bin ${args[*]} $*"
set +e
"$bin" "${args[@]}" "$@"
code=$?
set -e

# The run folder is <out>/<scenario>/<UTC time>/; take the one written by this run.
run_dir=$(find "$out" -name result.json -newer "$marker" -exec dirname {} \; | sort | tail -n 1)
if [[ -n $run_dir ]]; then
    echo "gate: run folder $run_dir"
    if [[ -f $run_dir/summary.md ]]; then
        cat "$run_dir/summary.md"
        if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then
            cat "$run_dir/summary.md" >>"$GITHUB_STEP_SUMMARY"
        fi
    fi
    if [[ -n ${GITHUB_OUTPUT:-} ]]; then
        echo "run_dir=$run_dir" >>"$GITHUB_OUTPUT"
    fi
else
    echo "gate: no result.json was written under $out" >&2
fi

case $code in
    0) echo "gate: pass" ;;
    1) echo "gate: FAILED: an SLO was breached or a gated metric regressed (see the summary above)" >&2 ;;
    130) echo "gate: interrupted" >&2 ;;
    *) echo "gate: the run could not be judged (exit $code): see the error above" >&2 ;;
esac
exit "$code"
