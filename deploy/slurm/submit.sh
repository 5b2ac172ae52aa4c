#!/usr/bin/env bash
# Runs a scenario as N instances on Slurm and gates on the merged result:
#
#   deploy/slurm/submit.sh [--wait] SCENARIO [nexus-bench run arguments...]
#
# Queues run.sbatch (N tasks, one instance each, results in a shared folder) and merge.sbatch
# with --dependency=afterok on it (the gate: merge, judge the SLOs, write the run folder). With
# --wait it blocks until the gate ends and exits with the gate's code: 0 pass, 1 an SLO (or a
# baseline regression) failed, 2 not judged (including: the instances' job failed, so the gate
# never ran).
#
# Environment (all optional):
#   NEXUS_BENCH            the binary, as the compute nodes see it       [nexus-bench]
#   NEXUS_BENCH_TASKS      instances (tasks)                             [4]
#   NEXUS_BENCH_SHARED     parent of the run folders; every node must see it [$PWD/reports/slurm]
#   NEXUS_BENCH_START_IN   seconds from the job's start to the load's    [20]
#   NEXUS_BENCH_SBATCH     extra sbatch arguments for both jobs (e.g. "-p bench -A team")
#   NEXUS_BENCH_MERGE_ARGS extra merge arguments (e.g. "--baseline main")
set -euo pipefail

wait_flag=()
if [[ ${1:-} == --wait ]]; then
    wait_flag=(--wait)
    shift
fi
[[ $# -ge 1 ]] || {
    echo "usage: $0 [--wait] SCENARIO [nexus-bench run arguments...]" >&2
    exit 2
}
here=$(cd "$(dirname "$0")" && pwd)
tasks=${NEXUS_BENCH_TASKS:-4}
shared=${NEXUS_BENCH_SHARED:-$PWD/reports/slurm}
read -r -a extra <<<"${NEXUS_BENCH_SBATCH:-}"
read -r -a merge_args <<<"${NEXUS_BENCH_MERGE_ARGS:-}"

dir=$shared/$(date -u +%Y%m%dT%H%M%SZ)-$$
mkdir -p "$dir"
export NEXUS_BENCH_RUN_DIR=$dir

run=$(sbatch --parsable --ntasks="$tasks" --output="$dir/run-%j.log" "${extra[@]}" \
    "$here/run.sbatch" "$@")
run=${run%%;*}
echo "submit: instances job $run ($tasks tasks), results in $dir"
set +e
gate=$(sbatch --parsable "${wait_flag[@]}" --dependency="afterok:$run" --kill-on-invalid-dep=yes \
    --output="$dir/merge-%j.log" "${extra[@]}" "$here/merge.sbatch" "${merge_args[@]}")
code=$?
set -e
gate=${gate%%;*}
echo "submit: gate job $gate (after $run succeeds); merged run folder: $dir/merged"
[[ ${#wait_flag[@]} -eq 0 ]] && exit "$code"

[[ -f $dir/merge-$gate.log ]] && cat "$dir/merge-$gate.log"

# `sbatch --wait` also returns 0 for a gate that never ran (cancelled because the instances'
# job failed), so the verdict comes from the jobs' recorded states.
field() { scontrol show job "$1" -o 2>/dev/null | grep -o "$2=[^ ]*" | cut -d= -f2; }
gate_state=$(field "$gate" JobState)
gate_exit=$(field "$gate" ExitCode)
case $gate_state in
    COMPLETED) exit 0 ;;
    FAILED) exit "${gate_exit%%:*}" ;;
    "") exit "$code" ;; # no longer known to the controller: trust sbatch
esac
run_state=$(field "$run" JobState)
echo "submit: the gate job $gate ended ${gate_state} (the instances' job $run ended ${run_state:-?}): the run was not judged" >&2
[[ -f $dir/run-$run.log ]] && tail -n 20 "$dir/run-$run.log" >&2
exit 2
