#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine with a Rust toolchain: installs what the
# tests need (Chromium for the HTML report test, python3 for process-launch tests, nginx for the
# HTTPS tests, Slurm and munge for the one-node cluster of the Slurm tests), then runs
# formatting, lints and every test. This is the command the README
# names; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# python3 -m venv needs Debian's python3-venv (ensurepip) besides python3.
if ! command -v python3 >/dev/null 2>&1; then
  need+=(python3 python3-venv)
elif ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  need+=(python3-venv)
fi
# The tests start their own nginx (own config, port and pid file); the system service is never
# used, so it need not run. /usr/sbin may be missing from a non-root PATH.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  need+=(nginx)
fi
# The live-export test starts its own Prometheus (own config, storage and port) with the
# remote-write receiver; the system service is never used.
command -v prometheus >/dev/null 2>&1 || [ -x /usr/bin/prometheus ] || need+=(prometheus)
# The Slurm tests start their own munged, slurmctld and slurmd (own config, key, socket and
# ports in a temporary folder); the system services are never used.
for daemon in slurmctld slurmd munged; do
  if ! command -v "$daemon" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$daemon" ]; then
    need+=(slurmctld slurmd slurm-client munge)
    break
  fi
done
command -v sbatch >/dev/null 2>&1 || need+=(slurm-client)
if [ "${#need[@]}" -gt 0 ]; then
  echo "# installing ${need[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # Installing nginx would start the system's nginx service on port 80 (slurmctld, slurmd and
  # munge theirs); policy-rc.d's 101 ("action forbidden") keeps every package's service stopped
  # during this install.
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee "$policy" >/dev/null
    $sudo_cmd chmod 755 "$policy"
    trap '$sudo_cmd rm -f "$policy"' EXIT
  fi
  $sudo_cmd apt-get update -q >&2
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  $sudo_cmd apt-get install -y -q --no-install-recommends "${need[@]}" >&2
  if [ -n "$policy" ]; then
    $sudo_cmd rm -f "$policy"
    trap - EXIT
  fi
fi
# Fail here, loudly, rather than in the middle of the tests.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || {
  echo "error: nginx is still missing after the install step" >&2
  exit 1
}
command -v prometheus >/dev/null 2>&1 || [ -x /usr/bin/prometheus ] || {
  echo "error: prometheus is still missing after the install step" >&2
  exit 1
}
for daemon in slurmctld slurmd munged; do
  command -v "$daemon" >/dev/null 2>&1 || [ -x "/usr/sbin/$daemon" ] || {
    echo "error: $daemon is still missing after the install step" >&2
    exit 1
  }
done

# The rendered Kubernetes manifests are checked offline against the API schemas with
# kubernetes-validate (PyPI; its wheel carries the schemas), in a virtualenv under target/ that
# the deploy tests look for (NEXUS_BENCH_TEST_VENV overrides the place).
venv=${NEXUS_BENCH_TEST_VENV:-target/ci-venv}
case $venv in /*) ;; *) venv="$PWD/$venv" ;; esac
kubernetes_validate=1.37.0
if ! "$venv/bin/kubernetes-validate" --version 2>/dev/null | grep -qx "$kubernetes_validate"; then
  echo "# installing kubernetes-validate $kubernetes_validate into $venv" >&2
  python3 -m venv --clear "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$kubernetes_validate" >&2
fi
export NEXUS_BENCH_TEST_VENV="$venv"

# Tests open many sockets (1,000 WebSocket clients and their server in one process).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
# --no-fail-fast: one failing test binary must not hide the others' results.
cargo test --locked --all-targets --no-fail-fast
