#!/usr/bin/env bash
# bench/nginx-bench.sh: Debian's nginx with the zigtls module side by side
# with nginx's own OpenSSL TLS 1.3 and with plain HTTP, same machine, same
# run (docs/performance.md). A measurement, never a test.
#
#   make -C bench nginx               (builds the modules and the client)
#   ROUNDS=3 SCALE=0.2 bench/nginx-bench.sh    a quick smoke run
#   PORT_BASE=42000 ...                       ports from 42000 up
# (bench/compare.sh runs the whole comparison, this one included in
# spirit, in one command)
#
# Three nginx instances, each with its own prefix in a temporary directory
# on tmpfs, one worker process each, listening on 127.0.0.1 only:
#   plain    http, no TLS (sendfile on, and a server with sendfile off)
#   zigtls   zigtls on, one server per certificate type
#   openssl  listen ... ssl, ssl_protocols TLSv1.3, one server per
#            certificate type, resumption off (ssl_session_tickets off,
#            ssl_session_cache off, NumTickets 0: zigtls has no resumption,
#            so neither side sends tickets); plus one server with nginx's
#            defaults (two TLS 1.3 tickets per connection) as deployed
# The instances are started afresh for every round and stopped by PID
# (trap). Every figure is the nginx worker's own CPU time, utime+stime from
# /proc/<worker>/stat (clock ticks), as a delta across the workload, or its
# VmRSS from /proc/<worker>/status. The worker's schedstat run time (ns) is
# recorded next to it as a cross-check of the tick-based figure.
#
# Workloads, per round:
#   idle   K keep-alive connections that each did one small request, held
#          open; worker VmRSS before and after (per connection)
#   hs     N connections, each: full TLS 1.3 handshake (X25519 key share,
#          TLS_AES_128_GCM_SHA256, no session offered), GET of a 3-byte file
#          with "Connection: close", read to EOF (bench/nginx-client.c, two
#          client processes); plain HTTP the same without TLS (the floor)
#   bulk   a 256 MiB file from tmpfs fetched by curl (HTTP/1.1, TLS 1.3,
#          --tls13-ciphers TLS_AES_128_GCM_SHA256), several times
#   pq     full handshakes as hs (ECDSA certificate), by bench/pq-client
#          (the unit tests' client, which speaks X25519MLKEM768; one
#          process): zigtls with X25519MLKEM768, zigtls with X25519, and
#          nginx+OpenSSL with X25519 (OpenSSL 3.0 has no ML-KEM)
# ONLY=pq runs the pq workload alone; NO_PQ=1 leaves it out.
# Then (not timed) the worker's system calls per handshake under strace -c.
#
# The results (raw lines and a table of medians) go to stdout and to
# bench/results/nginx-bench.txt (OUT=... to change).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NGINX=${NGINX:-/usr/sbin/nginx}
CLIENT=${CLIENT:-$ROOT/build/bench/nginx-client}
PQ_CLIENT=${PQ_CLIENT:-$ROOT/build/bench/pq-client}
HTTP_SO=$ROOT/build/ngx_http_zigtls_module.so
OUT=${OUT:-$ROOT/bench/results/nginx-bench.txt}
ROUNDS=${ROUNDS:-5}
SCALE=${SCALE:-1}
scaled() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); if (v < 20) v = 20; print v }'; }
HS_N=$(scaled "${HS_N:-8000}")          # ECDSA and Ed25519 handshakes
RSA_N=$(scaled "${RSA_N:-3000}")        # RSA-2048 handshakes
PLAIN_N=$(scaled "${PLAIN_N:-80000}")   # plain HTTP connections
BULK_MB=${BULK_MB:-256}                 # size of the static file
BULK_REPS=$(awk -v n="${BULK_REPS:-12}" -v s="$SCALE" \
    'BEGIN { v = int(n * s); print v < 1 ? 1 : v }')   # fetches per measurement
IDLE_K=${IDLE_K:-2000}                  # idle keep-alive connections
STRACE_N=${STRACE_N:-300}               # handshakes under strace -c
PQ_N=$(scaled "${PQ_N:-3000}")          # pq-client handshakes
SUITE=TLS_AES_128_GCM_SHA256
CLK_TCK=$(getconf CLK_TCK)

die() { echo "nginx-bench: $*" >&2; exit 1; }

[ -x "$NGINX" ] || die "$NGINX not found (apt-get install nginx)"
[ -f "$HTTP_SO" ] || die "$HTTP_SO missing: run 'make module' first"
[ -x "$CLIENT" ] || die "$CLIENT missing: run 'make -C bench nginx'"
[ -n "${NO_PQ:-}" ] || [ -x "$PQ_CLIENT" ] ||
    die "$PQ_CLIENT missing: run 'make -C bench nginx'"
for b in curl openssl awk ss; do
    command -v "$b" >/dev/null || die "$b not found"
done

TMP=$(mktemp -d /dev/shm/zt-nginx-bench.XXXXXX 2>/dev/null ||
      mktemp -d /tmp/zt-nginx-bench.XXXXXX)
chmod 755 "$TMP"
# A private copy of the module: "make module" rewrites build/*.so in place
# (cp), which would crash (SIGSEGV) workers that have the file mapped.
# Copied under the lock that t/lib/ZtNginx.pm holds while it rebuilds.
mkdir -p "$TMP/modules"
copy_so() { cp "$HTTP_SO" "$TMP/modules/"; }
if command -v flock >/dev/null && [ -w "$ROOT/build" ]; then
    ( flock -w 600 9 || die "build/.module.lock held for 10 minutes"
      copy_so ) 9>>"$ROOT/build/.module.lock"
else
    copy_so
fi
[ -s "$TMP/modules/ngx_http_zigtls_module.so" ] || die "copying $HTTP_SO failed"
SO_SUM=$(sha256sum "$TMP/modules/ngx_http_zigtls_module.so" | cut -c1-16)
SO_DATE=$(date -u -r "$HTTP_SO" '+%Y-%m-%d %H:%M UTC')
HTTP_SO=$TMP/modules/ngx_http_zigtls_module.so
declare -A MASTER=() WORKER=()
CLIENT_PID=

stop_all() {
    local name pid i
    if [ -n "$CLIENT_PID" ]; then
        kill -TERM "$CLIENT_PID" 2>/dev/null || true
        wait "$CLIENT_PID" 2>/dev/null || true
        CLIENT_PID=
    fi
    for name in "${!MASTER[@]}"; do
        pid=${MASTER[$name]}
        kill -QUIT "$pid" 2>/dev/null || true
        for i in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        unset "MASTER[$name]"
    done
}
cleanup() {
    local rc=$?
    stop_all
    if [ -n "${KEEP:-}" ]; then echo "nginx-bench: kept $TMP" >&2
    else rm -rf "$TMP"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- ports: free ones on 127.0.0.1, chosen once -------------------------------
declare -A PORT=()
port_free() { [ -z "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]; }
# PORT_BASE=N: start looking from port N (default: 31000 + a pid offset)
next_port=${PORT_BASE:-$((31000 + ($$ % 400) * 50))}
pick_port() {
    local tries=0
    while ! port_free "$next_port"; do
        next_port=$((next_port + 1)); tries=$((tries + 1))
        [ $tries -lt 500 ] || die "no free port found near $next_port"
    done
    PORT[$1]=$next_port
    next_port=$((next_port + 1))
}
for p in plain plain_nosf zt_ecdsa zt_ed25519 zt_rsa os_ecdsa os_ed25519 os_rsa os_default; do
    pick_port "$p"
done

# ---- files ----------------------------------------------------------------------
mkdir -p "$TMP/html" "$TMP/certs"
printf 'ok\n' > "$TMP/html/small"
head -c $((BULK_MB * 1024 * 1024)) /dev/urandom > "$TMP/html/big.bin"
BULK_BYTES=$((BULK_MB * 1024 * 1024))
mkcert() {   # name, openssl -newkey args...
    local name=$1; shift
    openssl req -x509 "$@" -nodes -days 30 -subj /CN=localhost \
        -addext subjectAltName=DNS:localhost \
        -keyout "$TMP/certs/$name.key" -out "$TMP/certs/$name.crt" \
        >/dev/null 2>&1 || die "openssl req ($name) failed"
}
mkcert ecdsa -newkey ec -pkeyopt ec_paramgen_curve:P-256
mkcert ed25519 -newkey ed25519
mkcert rsa -newkey rsa:2048

# ---- configurations -----------------------------------------------------------------
prelude() {   # prefix, extra main-level lines
    local p=$1
    [ "$(id -u)" = 0 ] && echo "user root;"
    cat <<EOF
$2
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 20000;
pid $p/logs/nginx.pid;
error_log $p/logs/error.log warn;
events { worker_connections 10000; accept_mutex off; }
http {
    client_body_temp_path $p/tmp/body;
    proxy_temp_path $p/tmp/proxy;
    fastcgi_temp_path $p/tmp/fastcgi;
    uwsgi_temp_path $p/tmp/uwsgi;
    scgi_temp_path $p/tmp/scgi;
    access_log off;
    default_type application/octet-stream;
    keepalive_timeout 600s;
    keepalive_requests 1000000;
    sendfile on;
    root $TMP/html;
EOF
}

write_confs() {
    local p
    p=$TMP/plain; mkdir -p "$p/conf" "$p/logs" "$p/tmp"
    { prelude "$p" ""
      cat <<EOF
    server { listen 127.0.0.1:${PORT[plain]}; }
    server { listen 127.0.0.1:${PORT[plain_nosf]}; sendfile off; }
}
EOF
    } > "$p/conf/nginx.conf"

    p=$TMP/zigtls; mkdir -p "$p/conf" "$p/logs" "$p/tmp"
    { prelude "$p" "load_module $HTTP_SO;"
      for c in ecdsa ed25519 rsa; do cat <<EOF
    server {
        listen 127.0.0.1:${PORT[zt_$c]};
        zigtls on;
        zigtls_certificate $TMP/certs/$c.crt;
        zigtls_certificate_key $TMP/certs/$c.key;
    }
EOF
      done
      echo "}"
    } > "$p/conf/nginx.conf"

    p=$TMP/openssl; mkdir -p "$p/conf" "$p/logs" "$p/tmp"
    { prelude "$p" ""
      for c in ecdsa ed25519 rsa; do cat <<EOF
    server {
        listen 127.0.0.1:${PORT[os_$c]} ssl;
        ssl_protocols TLSv1.3;
        ssl_certificate $TMP/certs/$c.crt;
        ssl_certificate_key $TMP/certs/$c.key;
        ssl_session_tickets off;
        ssl_session_cache off;
        ssl_conf_command NumTickets 0;
    }
EOF
      done
      cat <<EOF
    server {
        listen 127.0.0.1:${PORT[os_default]} ssl;
        ssl_protocols TLSv1.3;
        ssl_certificate $TMP/certs/ecdsa.crt;
        ssl_certificate_key $TMP/certs/ecdsa.key;
    }
}
EOF
    } > "$p/conf/nginx.conf"
}

# ---- start / stop ---------------------------------------------------------------------
wait_listen() {   # port, seconds
    local i
    for i in $(seq 1 $(($2 * 20))); do
        [ -n "$(ss -Htln "( sport = :$1 )" 2>/dev/null)" ] && return 0
        sleep 0.05
    done
    return 1
}

start_one() {   # name, ports...
    local name=$1; shift
    local p=$TMP/$name pid port i kids=
    "$NGINX" -p "$p/" -c "$p/conf/nginx.conf" -t >"$p/logs/t.log" 2>&1 ||
        die "nginx -t failed for $name:
$(cat "$p/logs/t.log")"
    "$NGINX" -p "$p/" -c "$p/conf/nginx.conf" \
        >"$p/logs/stderr.log" 2>&1 &
    pid=$!
    MASTER[$name]=$pid
    for port in "$@"; do
        wait_listen "$port" 10 || die "$name nginx did not listen on 127.0.0.1:$port within 10 s:
$(cat "$p/logs/error.log" "$p/logs/stderr.log" 2>/dev/null | tail -20)"
    done
    for i in $(seq 1 100); do
        kids=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null || true)
        [ -n "$kids" ] && break
        sleep 0.05
    done
    kids=$(echo $kids)
    [ -n "$kids" ] && [ "${kids// /}" = "$kids" ] ||
        die "$name nginx: expected one worker process, found '${kids}'"
    WORKER[$name]=$kids
}

start_all() {
    start_one plain "${PORT[plain]}" "${PORT[plain_nosf]}"
    start_one zigtls "${PORT[zt_ecdsa]}" "${PORT[zt_ed25519]}" "${PORT[zt_rsa]}"
    start_one openssl "${PORT[os_ecdsa]}" "${PORT[os_ed25519]}" \
        "${PORT[os_rsa]}" "${PORT[os_default]}"
}

# ---- the worker's figures -----------------------------------------------------------
cpu_us() {    # "utime+stime utime stime" of pid in us (from clock ticks)
    local line rest
    read -r line < "/proc/$1/stat" || die "worker $1 is gone"
    rest=${line##*) }
    set -- $rest
    echo "$(( (${12} + ${13}) * 1000000 / CLK_TCK )) $(( ${12} * 1000000 / CLK_TCK )) $(( ${13} * 1000000 / CLK_TCK ))"
}
run_ns() {    # scheduler run time of pid in ns
    local a b c
    read -r a b c < "/proc/$1/schedstat" || die "worker $1 is gone"
    echo "$a"
}
rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" || die "worker $1 is gone"
}

log() { echo "$*" | tee -a "$RAW"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# RES_<key> holds space-separated values per round
declare -A RES=()
add() { RES[$1]="${RES[$1]:-} $2"; }

# hs KEY SERVER PORT N [client options]
hs() {
    local key=$1 srv=$2 port=$3 n=$4; shift 4
    local w=${WORKER[$srv]} c0 c1 r0 r1 out u0 u1 s0 s1
    local -a cl=("$CLIENT" hs -P 2)
    [ -n "${PQ:-}" ] && cl=("$PQ_CLIENT")
    read -r c0 u0 s0 <<< "$(cpu_us "$w")"; r0=$(run_ns "$w")
    out=$(timeout 600 "${cl[@]}" -n "$n" "$@" "$port" 2>&1) ||
        die "handshake run $key failed: $out
$(tail -5 "$TMP/$srv/logs/error.log" 2>/dev/null)"
    read -r c1 u1 s1 <<< "$(cpu_us "$w")"; r1=$(run_ns "$w")
    local per per_run
    per=$(awk -v d=$((c1 - c0)) -v n="$n" 'BEGIN { printf "%.1f", d / n }')
    add "hsu_$key" "$(awk -v d=$((u1 - u0)) -v n="$n" 'BEGIN { printf "%.1f", d / n }')"
    add "hss_$key" "$(awk -v d=$((s1 - s0)) -v n="$n" 'BEGIN { printf "%.1f", d / n }')"
    per_run=$(awk -v d=$((r1 - r0)) -v n="$n" 'BEGIN { printf "%.1f", d / n / 1000 }')
    add "hs_$key" "$per"
    add "hsrun_$key" "$per_run"
    log "hs   $key n=$n worker_cpu_us=$((c1 - c0)) (user $((u1 - u0)) sys $((s1 - s0))) us_per_conn=$per (schedstat $per_run) $out"
}

# bulk KEY SERVER URL
bulk() {
    local key=$1 srv=$2 url=$3; shift 3
    local w=${WORKER[$srv]} c0 c1 r0 r1 i got total=0 u0 u1 s0 s1
    read -r c0 u0 s0 <<< "$(cpu_us "$w")"; r0=$(run_ns "$w")
    for i in $(seq 1 "$BULK_REPS"); do
        got=$(timeout 300 curl -sS -k --http1.1 --max-time 240 "$@" \
              -o /dev/null -w '%{size_download}' "$url") ||
            die "bulk $key: curl failed"
        [ "$got" = "$BULK_BYTES" ] || die "bulk $key: got $got bytes, not $BULK_BYTES"
        total=$((total + got))
    done
    read -r c1 u1 s1 <<< "$(cpu_us "$w")"; r1=$(run_ns "$w")
    local per per_run
    per=$(awk -v d=$((c1 - c0)) -v b="$total" 'BEGIN { printf "%.1f", d / 1000 / (b / 1e9) }')
    add "bulku_$key" "$(awk -v d=$((u1 - u0)) -v b="$total" 'BEGIN { printf "%.1f", d / 1000 / (b / 1e9) }')"
    add "bulks_$key" "$(awk -v d=$((s1 - s0)) -v b="$total" 'BEGIN { printf "%.1f", d / 1000 / (b / 1e9) }')"
    per_run=$(awk -v d=$((r1 - r0)) -v b="$total" 'BEGIN { printf "%.1f", d / 1e6 / (b / 1e9) }')
    add "bulk_$key" "$per"
    add "bulkrun_$key" "$per_run"
    log "bulk $key bytes=$total worker_cpu_us=$((c1 - c0)) (user $((u1 - u0)) sys $((s1 - s0))) ms_per_GB=$per (schedstat $per_run)"
}

# idle KEY SERVER PORT [client options]: RSS per idle keep-alive connection
idle() {
    local key=$1 srv=$2 port=$3; shift 3
    local w=${WORKER[$srv]} f=$TMP/idle-$key.out steps=4 s i rss0 rss1= rssn=
    local line
    timeout 120 "$CLIENT" hs -n 50 -P 1 "$@" "$port" >/dev/null 2>&1 ||
        die "idle $key: warm-up failed"
    sleep 0.2
    rss0=$(rss_kb "$w")
    : > "$f"
    "$CLIENT" idle -n "$IDLE_K" -S $steps -t 300 "$@" "$port" >"$f" 2>&1 &
    CLIENT_PID=$!
    for s in $(seq 1 $steps); do
        for i in $(seq 1 1200); do
            grep -q "^STEP $s " "$f" && break
            kill -0 "$CLIENT_PID" 2>/dev/null || die "idle $key: client ended: $(cat "$f")"
            sleep 0.05
        done
        grep -q "^STEP $s " "$f" || die "idle $key: step $s not reached in 60 s"
        sleep 0.3
        rssn=$(rss_kb "$w")
        [ "$s" = 1 ] && rss1=$rssn
        kill -USR1 "$CLIENT_PID"
    done
    for i in $(seq 1 200); do grep -q '^DONE' "$f" && break; sleep 0.05; done
    line=$(grep '^DONE' "$f" || echo "DONE ?")
    kill -TERM "$CLIENT_PID" 2>/dev/null || true
    wait "$CLIENT_PID" 2>/dev/null || true
    CLIENT_PID=
    local per slope k1=$((IDLE_K / steps))
    per=$(awk -v a="$rss0" -v b="$rssn" -v k="$IDLE_K" 'BEGIN { printf "%.2f", (b - a) / k }')
    slope=$(awk -v a="$rss1" -v b="$rssn" -v k=$((IDLE_K - k1)) 'BEGIN { printf "%.2f", (b - a) / k }')
    add "idle_$key" "$per"
    add "idleslope_$key" "$slope"
    log "idle $key k=$IDLE_K rss_kb_before=$rss0 after_${k1}=$rss1 after_${IDLE_K}=$rssn kB_per_conn=$per (slope ${k1}..${IDLE_K}: $slope) client: $line"
}

# strace -c of the worker over STRACE_N handshakes: syscalls per connection
syscalls() {
    local key=$1 srv=$2 port=$3; shift 3
    local w=${WORKER[$srv]} f=$TMP/strace-$key.txt spid i
    command -v strace >/dev/null || { log "sys  $key: strace not installed"; return 0; }
    strace -c -f -p "$w" -o "$f" 2>/dev/null &
    spid=$!
    sleep 0.5
    timeout 300 "$CLIENT" hs -n "$STRACE_N" -P 1 "$@" "$port" >/dev/null 2>&1 ||
        die "strace run $key failed"
    kill -INT "$spid" 2>/dev/null || true
    for i in $(seq 1 100); do kill -0 "$spid" 2>/dev/null || break; sleep 0.05; done
    wait "$spid" 2>/dev/null || true
    log "sys  $key per connection ($STRACE_N connections): $(awk -v n="$STRACE_N" '
        $NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" {
            calls = $4; errs = ($5 ~ /^[0-9]+$/) ? $5 : 0
            printf "%s=%.2f%s ", $NF, calls / n, errs ? sprintf("(%.2f err)", errs / n) : ""
        }
        $NF == "total" { printf "| total=%.2f", $4 / n }' "$f")"
}

# ---- the run -----------------------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
RAW=$TMP/raw.txt
: > "$RAW"
log "nginx-bench  $(date -u '+%Y-%m-%d %H:%M UTC')"
log "CPU: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) online CPUs; kernel $(uname -r)"
log "nginx: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), $("$NGINX" -V 2>&1 | grep -o 'built with OpenSSL [^ ]*' || true); OpenSSL at run time: $(openssl version | cut -d' ' -f1-2); curl $(curl --version | head -1 | cut -d' ' -f2)"
log "zigtls module: build/ngx_http_zigtls_module.so of $SO_DATE (sha256 $SO_SUM...), git HEAD $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
log "rounds=$ROUNDS hs_n=$HS_N rsa_n=$RSA_N plain_n=$PLAIN_N bulk=${BULK_REPS}x${BULK_MB}MiB idle_k=$IDLE_K CLK_TCK=$CLK_TCK suite=$SUITE group=X25519"
log "ports: $(for k in "${!PORT[@]}"; do printf '%s=%s ' "$k" "${PORT[$k]}"; done)"
log "load average at start: $(loadavg)"

write_confs
for round in $(seq 1 "$ROUNDS"); do
    start_all
    log "--- round $round  load $(loadavg)  workers: plain=${WORKER[plain]} zigtls=${WORKER[zigtls]} openssl=${WORKER[openssl]}"
    TLS=(-c "$SUITE" -g X25519)
    if [ -z "${NO_PQ:-}" ]; then
        PQ=1 hs zigtls_pq_mlkem zigtls "${PORT[zt_ecdsa]}" "$PQ_N" -g X25519MLKEM768
        PQ=1 hs zigtls_pq_x25519 zigtls "${PORT[zt_ecdsa]}" "$PQ_N" -g x25519
        PQ=1 hs openssl_pq_x25519 openssl "${PORT[os_ecdsa]}" "$PQ_N" -g x25519
    fi
    if [ "${ONLY:-}" = pq ]; then stop_all; continue; fi
    # memory first, on fresh workers (a heap that already grew for earlier
    # connections would hide the cost of new ones)
    idle plain plain "${PORT[plain]}" -p
    idle zigtls zigtls "${PORT[zt_ecdsa]}" "${TLS[@]}"
    idle openssl openssl "${PORT[os_ecdsa]}" "${TLS[@]}"
    # full handshakes
    hs plain plain "${PORT[plain]}" "$PLAIN_N" -p
    for c in ecdsa ed25519 rsa; do
        n=$HS_N; [ $c = rsa ] && n=$RSA_N
        hs "zigtls_$c" zigtls "${PORT[zt_$c]}" "$n" "${TLS[@]}"
        hs "openssl_$c" openssl "${PORT[os_$c]}" "$n" "${TLS[@]}"
    done
    hs openssl_default_ecdsa openssl "${PORT[os_default]}" "$HS_N" "${TLS[@]}"
    # bulk
    TLSC=(--tlsv1.3 --tls13-ciphers "$SUITE")
    bulk plain plain "http://127.0.0.1:${PORT[plain]}/big.bin"
    bulk plain_nosendfile plain "http://127.0.0.1:${PORT[plain_nosf]}/big.bin"
    bulk zigtls zigtls "https://127.0.0.1:${PORT[zt_ecdsa]}/big.bin" "${TLSC[@]}"
    bulk openssl openssl "https://127.0.0.1:${PORT[os_ecdsa]}/big.bin" "${TLSC[@]}"
    stop_all
done

if [ -z "${NO_STRACE:-}" ] && [ "${ONLY:-}" != pq ]; then
    start_all
    log "--- system calls of the worker per connection (strace -c; not timed)"
    syscalls plain plain "${PORT[plain]}" -p
    syscalls zigtls_ecdsa zigtls "${PORT[zt_ecdsa]}" -c "$SUITE" -g X25519
    syscalls openssl_ecdsa openssl "${PORT[os_ecdsa]}" -c "$SUITE" -g X25519
    stop_all
fi
log "load average at end: $(loadavg)"

# ---- table of medians -------------------------------------------------------------------------
stat3() {   # values -> "median min max"
    echo "$@" | tr ' ' '\n' | grep . | sort -g | awk '
        { v[NR] = $1 } END {
            if (NR == 0) { print "- - -"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%.1f %.1f %.1f\n", m, v[1], v[NR] }'
}
med() { stat3 ${RES[$1]:-} | cut -d' ' -f1; }
row() {   # label key [key of the last column] [user key] [sys key]
    local s r u=- y=-
    s=$(stat3 ${RES[$2]:-}); r=$(stat3 ${RES[${3}]:-})
    [ -n "${4:-}" ] && u=$(med "$4") && y=$(med "$5")
    set -- "$1" $s "$u" "$y" $(echo "$r" | cut -d' ' -f1)
    printf '  %-52s %9s %9s %9s %9s %9s %10s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7"
}
hdr() { printf '  %-52s %9s %9s %9s %9s %9s %10s\n' "" median min max user sys "$1"; }
# ratio a b: ratio of the medians, and the median of the per-round ratios
ratio() {
    awk -v a="${RES[$1]:-}" -v b="${RES[$2]:-}" 'BEGIN {
        na = split(a, x, " "); nb = split(b, y, " ")
        for (i = 1; i <= na && i <= nb; i++) if (y[i] > 0) r[++n] = x[i] / y[i]
        if (n == 0) { print "-"; exit }
        for (i = 2; i <= n; i++) { v = r[i]; for (j = i - 1; j >= 1 && r[j] > v; j--) r[j + 1] = r[j]; r[j + 1] = v }
        m = (n % 2) ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
        printf "%.2f (per-round %.2f..%.2f)", m, r[1], r[n] }'
}

{
echo
echo "Summary: medians of $ROUNDS rounds (min, max), nginx worker CPU (utime+stime) from"
echo "/proc/<pid>/stat; user and sys: medians of each part; schedstat: the median of the"
echo "same figure from /proc/<pid>/schedstat (ns resolution); load average $(loadavg)"
echo
if [ "${ONLY:-}" != pq ]; then
echo "Full handshake + 3-byte GET + close, server CPU per connection (us)"
hdr schedstat
row "plain HTTP (TCP accept + GET + close)" hs_plain hsrun_plain hsu_plain hss_plain
for c in ecdsa ed25519 rsa; do
    row "zigtls   $c, X25519" "hs_zigtls_$c" "hsrun_zigtls_$c" "hsu_zigtls_$c" "hss_zigtls_$c"
    row "OpenSSL  $c, X25519 (no tickets)" "hs_openssl_$c" "hsrun_openssl_$c" "hsu_openssl_$c" "hss_openssl_$c"
done
row "OpenSSL  ecdsa, X25519, nginx defaults (2 tickets)" hs_openssl_default_ecdsa hsrun_openssl_default_ecdsa hsu_openssl_default_ecdsa hss_openssl_default_ecdsa
echo "  zigtls / OpenSSL (no tickets):  ecdsa $(ratio hs_zigtls_ecdsa hs_openssl_ecdsa)"
echo "                                  ed25519 $(ratio hs_zigtls_ed25519 hs_openssl_ed25519)"
echo "                                  rsa $(ratio hs_zigtls_rsa hs_openssl_rsa)"
echo "  zigtls / OpenSSL (nginx defaults): ecdsa $(ratio hs_zigtls_ecdsa hs_openssl_default_ecdsa)"
echo
fi
if [ -z "${NO_PQ:-}" ]; then
echo "Post-quantum: full handshake + GET + close by bench/pq-client (one process), ECDSA, server CPU per connection (us)"
hdr schedstat
row "zigtls   X25519MLKEM768" hs_zigtls_pq_mlkem hsrun_zigtls_pq_mlkem hsu_zigtls_pq_mlkem hss_zigtls_pq_mlkem
row "zigtls   X25519" hs_zigtls_pq_x25519 hsrun_zigtls_pq_x25519 hsu_zigtls_pq_x25519 hss_zigtls_pq_x25519
row "OpenSSL  X25519 (no tickets)" hs_openssl_pq_x25519 hsrun_openssl_pq_x25519 hsu_openssl_pq_x25519 hss_openssl_pq_x25519
echo "  zigtls X25519MLKEM768 / zigtls X25519:  $(ratio hs_zigtls_pq_mlkem hs_zigtls_pq_x25519)"
echo "  zigtls X25519MLKEM768 / OpenSSL X25519: $(ratio hs_zigtls_pq_mlkem hs_openssl_pq_x25519)"
echo
fi
if [ "${ONLY:-}" != pq ]; then
echo "Bulk: ${BULK_MB} MiB static file, HTTP/1.1, $SUITE; server CPU per GB (10^9 bytes, ms)"
hdr schedstat
row "plain HTTP, sendfile on" bulk_plain bulkrun_plain bulku_plain bulks_plain
row "plain HTTP, sendfile off" bulk_plain_nosendfile bulkrun_plain_nosendfile bulku_plain_nosendfile bulks_plain_nosendfile
row "zigtls" bulk_zigtls bulkrun_zigtls bulku_zigtls bulks_zigtls
row "OpenSSL" bulk_openssl bulkrun_openssl bulku_openssl bulks_openssl
echo "  zigtls / OpenSSL: $(ratio bulk_zigtls bulk_openssl); user time only: $(ratio bulku_zigtls bulku_openssl)"
echo
echo "Idle keep-alive connection after one request: worker VmRSS per connection (kB), K=$IDLE_K"
hdr slope
row "plain HTTP" idle_plain idleslope_plain
row "zigtls (ECDSA)" idle_zigtls idleslope_zigtls
row "OpenSSL (ECDSA)" idle_openssl idleslope_openssl
echo "  zigtls / OpenSSL: $(ratio idle_zigtls idle_openssl)"
echo "  (slope: RSS growth from K/4 to K connections, per connection)"
fi
} | tee -a "$RAW"

cp "$RAW" "$OUT"
echo "nginx-bench: written to $OUT"
