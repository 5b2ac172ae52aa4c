#!/usr/bin/env bash
# HTTPS side by side: nexus-bench (rustls) next to wrk (OpenSSL) against one nginx with `ssl`
# on a free loopback port (certificate from `openssl req -x509`, made here). Each case runs the
# tools alternately, REPS times each; CPU (user + system) of each tool comes from /usr/bin/time.
# Prints a Markdown table of medians: requests/s, CPU µs per request, and the ratio to wrk.
#
#   ci/bench-tls.sh                       # c = 32 and 256 keep-alive, then Connection: close
#   SECS=10 REPS=5 ci/bench-tls.sh
#   CONNS="32" CASES="keepalive" ci/bench-tls.sh
#
# Env: NEXUS_BENCH (binary; default target/release/nexus-bench, built unless NEXUS_NO_BUILD=1),
# SECS (per run, default 5), REPS (default 3), CONNS (default "32 256"), CASES (any of
# keepalive, close, close-noresume; default all three), NGINX_WORKERS (default 1).
# Both generators get one thread (wrk -t1, nexus --threads 1). All traffic is 127.0.0.1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${NEXUS_BENCH:-$ROOT/target/release/nexus-bench}"
SECS="${SECS:-5}"
REPS="${REPS:-3}"
CONNS="${CONNS:-32 256}"
CASES="${CASES:-keepalive close close-noresume}"
NGINX_WORKERS="${NGINX_WORKERS:-1}"
for tool in nginx wrk openssl /usr/bin/time python3; do
    command -v "$tool" >/dev/null || { echo "missing: $tool (ci/test.sh installs nginx; apt-get install wrk time openssl)" >&2; exit 1; }
done
if [[ ${NEXUS_NO_BUILD:-0} != 1 ]]; then
    echo "# building nexus-bench (release)" >&2
    (cd "$ROOT" && cargo build --release --locked -q) >&2
fi
[[ -x $BIN ]] || { echo "no nexus-bench binary at $BIN" >&2; exit 1; }

work="$(mktemp -d -t nexus-bench-tls.XXXXXX)"
nginx_pid=""
cleanup() {
    [[ -n $nginx_pid ]] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
user=""
[[ $(id -u) == 0 ]] && user="user root;"
mkdir -p "$work/tmp"
cat >"$work/nginx.conf" <<CONF
daemon off;
master_process on;
$user
worker_processes $NGINX_WORKERS;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $work/tmp;
    proxy_temp_path $work/tmp;
    fastcgi_temp_path $work/tmp;
    uwsgi_temp_path $work/tmp;
    scgi_temp_path $work/tmp;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    ssl_session_cache shared:bench:20m;
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $work/cert.pem;
        ssl_certificate_key $work/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        location = /ok { return 200 "ok"; }
    }
}
CONF
nginx -c "$work/nginx.conf" -p "$work" &
nginx_pid=$!
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
url="https://127.0.0.1:$port"

# One run of one tool; prints "requests/s cpu_seconds".
run_wrk() { # conns close
    local hdr=()
    [[ $2 == 1 ]] && hdr=(-H "Connection: close")
    /usr/bin/time -f "%U %S" -o "$work/time" \
        wrk -t1 -c"$1" -d"${SECS}s" "${hdr[@]}" "$url/ok" >"$work/wrk.out" 2>&1
    local rps
    rps="$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.out")"
    echo "$rps $(awk '{print $1 + $2}' "$work/time")"
}
run_nexus() { # conns close resumption
    local headers=""
    [[ $2 == 1 ]] && headers='headers = { connection = "close" }'
    cat >"$work/s.toml" <<TOML
name = "tlsbench"
[target]
base_url = "$url"
$headers
[target.tls]
ca = "cert.pem"
resumption = $3
[load]
model = "closed"
users = $1
duration = "${SECS}s"
[[requests]]
name = "ok"
path = "/ok"
TOML
    rm -rf "$work/out"
    /usr/bin/time -f "%U %S" -o "$work/time" \
        "$BIN" run "$work/s.toml" --threads 1 --quiet --no-html --no-extra-outputs --out "$work/out" \
        >/dev/null 2>"$work/nexus.err" || true
    python3 - "$work" <<'PY'
import glob, json, sys
w = sys.argv[1]
r = json.load(open(glob.glob(f"{w}/out/tlsbench/*/result.json")[0]))
ok = r["totals"]["requests"] - r["totals"]["errors"]
if r["totals"]["errors"]:
    print(f"nexus-bench: {r['totals']['errors']} errors: {r['error_samples'][:1]}", file=sys.stderr)
cpu = sum(float(x) for x in open(f"{w}/time").read().split()[:2])
print(f"{ok / (r['measured_ms'] / 1000):.1f} {cpu}")
PY
}
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

echo "| case | conns | wrk req/s | nexus req/s | nexus/wrk | wrk CPU µs/req | nexus CPU µs/req | nexus/wrk CPU |"
echo "|---|--:|--:|--:|--:|--:|--:|--:|"
for case in $CASES; do
    case $case in
        keepalive) close=0; resume=true ;;
        close) close=1; resume=true ;;
        close-noresume) close=1; resume=false ;;
        *) echo "unknown case $case" >&2; exit 1 ;;
    esac
    for c in $CONNS; do
        wr=(); wc=(); nr=(); nc=()
        for _ in $(seq 1 "$REPS"); do
            read -r r cpu < <(run_wrk "$c" "$close")
            wr+=("$r"); wc+=("$(python3 -c "print($cpu / ($r * $SECS) * 1e6)")")
            read -r r cpu < <(run_nexus "$c" "$close" "$resume")
            nr+=("$r"); nc+=("$(python3 -c "print($cpu / max($r * $SECS, 1) * 1e6)")")
        done
        mwr=$(median "${wr[@]}"); mnr=$(median "${nr[@]}")
        mwc=$(median "${wc[@]}"); mnc=$(median "${nc[@]}")
        python3 -c "
print(f'| $case | $c | {$mwr:,.0f} | {$mnr:,.0f} | {$mnr/$mwr:.2f}× | {$mwc:.1f} | {$mnc:.1f} | {$mnc/$mwc:.2f}× |')"
    done
done
echo
echo "Runs: ${REPS} × ${SECS}s per tool and case, alternating; medians. nginx $(nginx -v 2>&1 | sed 's/.*\///'), $NGINX_WORKERS worker(s); $(nproc) CPUs; wrk is OpenSSL, nexus-bench rustls (ring). 'close' cases send Connection: close on every request (wrk without session resumption; nexus with resumption unless 'noresume')."
