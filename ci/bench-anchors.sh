#!/usr/bin/env bash
# Side-by-side: nexus-bench next to wrk, oha and the bare hyper min-client, in the anchors
# harness (an external folder named by $ANCHORS, see its README): same target, same rotation, CPU and
# peak RSS measured from outside. Builds nexus-bench (release) first. All traffic is loopback.
#
#   ci/bench-anchors.sh                                  # defaults below (~3 min)
#   ci/bench-anchors.sh --conns 32 --secs 10 --reps 5    # any anchors.py option overrides
#   ci/bench-anchors.sh --tools wrk-t1,min-t1 --pin
#
# Defaults: --tools wrk-t1,wrk-t2,oha,min-t1 --targets hyper --conns 32,256 (the quick profile:
# 3 s x 3 reps); missing tools are skipped. nexus-bench runs scenarios/bench.toml (closed
# model, keep-alive, full recording) with its default thread count, as `nexus`; set
# NEXUS_THREADS=N to pass --threads N, NEXUS_EXTRA='--extra ...' to add more generators.
#
# Env: ANCHORS (harness dir, required), NEXUS_BENCH (binary,
# default target/release/nexus-bench, rebuilt unless NEXUS_NO_BUILD=1), ANCHORS_NO_INSTALL
# (default 1 here: never install missing tools; 0 lets run.sh apt/cargo-install them).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ANCHORS="${ANCHORS:?set ANCHORS to the folder of the anchors harness (run.sh, anchors.py)}"
BIN="${NEXUS_BENCH:-$ROOT/target/release/nexus-bench}"
export ANCHORS_NO_INSTALL="${ANCHORS_NO_INSTALL:-1}"

if [[ ${NEXUS_NO_BUILD:-0} != 1 ]]; then
    echo "# building nexus-bench (release)" >&2
    (cd "$ROOT" && cargo build --release --locked -q) >&2
fi
[[ -x $BIN ]] || { echo "no nexus-bench binary at $BIN" >&2; exit 1; }

out="$(mktemp -d -t nexus-anchors.XXXXXX)"
trap 'rm -rf "$out"' EXIT
threads=()
[[ -n ${NEXUS_THREADS:-} ]] && threads=(--threads "$NEXUS_THREADS")
nexus="nexus=$BIN run $ROOT/scenarios/bench.toml --target http://{host}:{port} \
--set requests.get.path={path} --set load.users={conns} --duration {secs}s ${threads[*]:-} \
--quiet --summary json --no-html --no-extra-outputs --out $out"

defaults=(--tools wrk-t1,wrk-t2,oha,min-t1 --targets hyper --conns 32,256)
read -r -a more <<<"${NEXUS_EXTRA:-}"
# Later options win in argparse, so the caller's "$@" overrides the defaults.
"$ANCHORS/run.sh" "${defaults[@]}" --extra "$nexus" "${more[@]}" "$@"
