#!/usr/bin/env bash
# bench/compare.sh: the whole comparison of docs/performance.md in one
# command: nginx + zigtls side by side with nginx + OpenSSL (and plain
# HTTP), same machine, same run. A measurement, never a test.
#
#   make -C bench compare            (builds what it needs, then runs)
#   PORT_BASE=42000 QUICK=1 bench/compare.sh    a short smoke run
#
# Parts (each prints its own table; all go to $OUT):
#   1. instructions (callgrind, repeatable under load): the crypto floor
#      (bench/cryptofloor.c) and the nginx worker's instructions per full
#      handshake (X25519 + ECDSA P-256, X25519 + Ed25519) and per MiB of
#      bulk (AES-128-GCM, ChaCha20-Poly1305), zigtls vs OpenSSL. Each
#      figure is (I(2N) - I(N)) / N between two runs of N and 2N
#      operations, which cancels start-up and shutdown.
#   2. memory: the worker's RSS growth per idle connection, right after the
#      handshake (no request) and after one keep-alive response.
#   3. worker CPU (clock ticks of utime+stime, under flock
#      /work/.bench.lock): full handshakes, bulk, HTTP/2 page-load
#      workload (h2load -m 50, 10 KB file), HTTP/1.1 keep-alive (h2load
#      --h1), ROUNDS alternating rounds; system calls per response
#      (strace -c) for the two h2load workloads.
# Tickets are off on both sides (zigtls has none yet; OpenSSL:
# ssl_session_tickets off, NumTickets 0).
#
# ONLY=instructions|memory|cpu runs one part.
# Environment: PORT_BASE (first port, default 24000; the script uses
# PORT_BASE .. PORT_BASE+19 and checks each is free; keep it below the
# kernel's ephemeral range, net.ipv4.ip_local_port_range, or a client
# connection's own port may take one between two runs), ROUNDS (3), QUICK=1
# (fewer operations), OUT (bench/results/compare.txt), NGINX.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NGINX=${NGINX:-/usr/sbin/nginx}
B=$ROOT/build/bench
CLIENT=$B/nginx-client
FLOOR=$B/cryptofloor
HTTP_SO=$ROOT/build/ngx_http_zigtls_module.so
OUT=${OUT:-$ROOT/bench/results/compare.txt}
PORT_BASE=${PORT_BASE:-24000}
ROUNDS=${ROUNDS:-3}
if [ -n "${QUICK:-}" ]; then
    CG_REQ=200 CG_HS=20 CG_MB=4 HS_N=600 BULK_REPS=1 H2_N=4000 IDLE_K=400 ST_N=1000
else
    CG_REQ=1000 CG_HS=100 CG_MB=16 HS_N=4000 BULK_REPS=4 H2_N=60000 IDLE_K=2000 ST_N=5000
fi
LOCK=${BENCH_LOCK:-/work/.bench.lock}
CLK_TCK=$(getconf CLK_TCK)

die() { echo "compare: $*" >&2; exit 1; }
for b in "$NGINX" "$CLIENT" "$FLOOR"; do [ -x "$b" ] || die "$b missing (make -C bench compare)"; done
[ -f "$HTTP_SO" ] || die "$HTTP_SO missing: make module"
for b in valgrind h2load curl openssl ss strace; do
    command -v "$b" >/dev/null || die "$b not found"
done

TMP=$(mktemp -d /dev/shm/zt-compare.XXXXXX 2>/dev/null || mktemp -d /tmp/zt-compare.XXXXXX)
chmod 755 "$TMP"
mkdir -p "$TMP/modules" "$TMP/html" "$TMP/certs"
# a private copy of the module, taken under the lock of "make module"
( flock -w 600 9 || die "build/.module.lock held"; cp "$HTTP_SO" "$TMP/modules/" ) \
    9>>"$ROOT/build/.module.lock"
SO=$TMP/modules/ngx_http_zigtls_module.so
declare -A MASTER=()
stop_all() {
    local n p i
    for n in "${!MASTER[@]}"; do
        p=${MASTER[$n]}
        kill -QUIT "$p" 2>/dev/null || true
        for i in $(seq 1 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
        unset "MASTER[$n]"
    done
}
cleanup() { local rc=$?; stop_all; [ -n "${KEEP:-}" ] || rm -rf "$TMP"; exit $rc; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- ports, files, certificates ---------------------------------------------
port_free() { [ -z "$(ss -Htln "( sport = :$1 )" 2>/dev/null)" ]; }   # listeners (TIME_WAIT does not stop nginx, SO_REUSEADDR)
read -r eph_lo eph_hi < /proc/sys/net/ipv4/ip_local_port_range || eph_lo=65536
[ $((PORT_BASE + 19)) -lt "$eph_lo" ] || [ "$PORT_BASE" -gt "${eph_hi:-0}" ] ||
    echo "compare: warning: ports $PORT_BASE.. are in the ephemeral range $eph_lo-$eph_hi" >&2
for i in $(seq 0 19); do
    port_free $((PORT_BASE + i)) || die "port $((PORT_BASE + i)) is in use (PORT_BASE=...)"
done
P_PLAIN=$PORT_BASE
P_ZT_EC=$((PORT_BASE + 1)) P_ZT_ED=$((PORT_BASE + 2))
P_OS_EC=$((PORT_BASE + 3)) P_OS_ED=$((PORT_BASE + 4))

printf 'ok\n' > "$TMP/html/small"
head -c 10240 /dev/urandom > "$TMP/html/f10k"
head -c $((256 * 1024 * 1024)) /dev/urandom > "$TMP/html/big.bin"
head -c $((CG_MB * 1024 * 1024)) /dev/urandom > "$TMP/html/cg.bin"
head -c $((2 * CG_MB * 1024 * 1024)) /dev/urandom > "$TMP/html/cg2.bin"
mkcert() {
    local n=$1; shift
    openssl req -x509 "$@" -nodes -days 30 -subj /CN=localhost \
        -addext subjectAltName=DNS:localhost -keyout "$TMP/certs/$n.key" \
        -out "$TMP/certs/$n.crt" >/dev/null 2>&1 || die "openssl req $n"
}
mkcert ecdsa -newkey ec -pkeyopt ec_paramgen_curve:P-256
mkcert ed25519 -newkey ed25519

conf() {   # name: plain | zigtls | openssl
    local n=$1 p=$TMP/$1
    mkdir -p "$p/conf" "$p/logs" "$p/tmp"
    {
        [ "$n" = zigtls ] && echo "load_module $SO;"
        [ "$(id -u)" = 0 ] && echo "user root;"
        cat <<EOF
daemon off; master_process on; worker_processes 1;
worker_rlimit_nofile 30000;
pid $p/logs/nginx.pid; error_log $p/logs/error.log warn;
events { worker_connections 25000; accept_mutex off; }
http {
    client_body_temp_path $p/tmp/b; proxy_temp_path $p/tmp/p;
    fastcgi_temp_path $p/tmp/f; uwsgi_temp_path $p/tmp/u; scgi_temp_path $p/tmp/s;
    access_log off; default_type application/octet-stream;
    keepalive_timeout 600s; keepalive_requests 1000000;
    http2_max_requests 1000000;
    root $TMP/html;
EOF
        case $n in
        plain) echo "    server { listen 127.0.0.1:$P_PLAIN; sendfile off; }" ;;
        zigtls) for c in ecdsa:$P_ZT_EC ed25519:$P_ZT_ED; do cat <<EOF
    server { listen 127.0.0.1:${c#*:}; zigtls on;
        zigtls_certificate $TMP/certs/${c%%:*}.crt;
        zigtls_certificate_key $TMP/certs/${c%%:*}.key; }
EOF
            done ;;
        openssl) for c in ecdsa:$P_OS_EC ed25519:$P_OS_ED; do cat <<EOF
    server { listen 127.0.0.1:${c#*:} ssl http2; ssl_protocols TLSv1.3;
        ssl_certificate $TMP/certs/${c%%:*}.crt;
        ssl_certificate_key $TMP/certs/${c%%:*}.key;
        ssl_session_tickets off; ssl_session_cache off;
        ssl_conf_command NumTickets 0; }
EOF
            done ;;
        esac
        echo "}"
    } > "$p/conf/nginx.conf"
    "$NGINX" -p "$p/" -c "$p/conf/nginx.conf" -t >"$p/logs/t.log" 2>&1 ||
        die "nginx -t ($n): $(cat "$p/logs/t.log")"
}
conf plain; conf zigtls; conf openssl
ports_of() { case $1 in plain) echo $P_PLAIN;; zigtls) echo "$P_ZT_EC $P_ZT_ED";; openssl) echo "$P_OS_EC $P_OS_ED";; esac; }

start() {   # name [wrapper...]: starts, sets MASTER[name] and WPID (the worker)
    local n=$1 p=$TMP/$1 m port i kids=; shift
    "$@" "$NGINX" -p "$p/" -c "$p/conf/nginx.conf" >"$p/logs/stderr.log" 2>&1 &
    m=$!
    MASTER[$n]=$m
    for port in $(ports_of "$n"); do
        for i in $(seq 1 600); do
            [ -n "$(ss -Htln "( sport = :$port )")" ] && break; sleep 0.05
        done
        [ -n "$(ss -Htln "( sport = :$port )")" ] || die "$n: not listening on $port"
    done
    for i in $(seq 1 200); do
        kids=$(cat "/proc/$m/task/$m/children" 2>/dev/null || true)
        [ -n "$kids" ] && break; sleep 0.05
    done
    set -- $kids
    [ $# = 1 ] || die "$n: expected one worker, got '$kids'"
    WPID=$1
}
stop() {   # name
    local p=${MASTER[$1]} i
    kill -QUIT "$p" 2>/dev/null || true
    for i in $(seq 1 600); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    unset "MASTER[$1]"
}

exec > >(tee "$TMP/out.txt") 2>&1
echo "bench/compare.sh  $(date -u '+%Y-%m-%d %H:%M UTC')  git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "CPU: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) CPUs; kernel $(uname -r)"
echo "nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'), $(openssl version | cut -d' ' -f1-2), $(valgrind --version)"
echo "ports $PORT_BASE..$((PORT_BASE + 19)); rounds $ROUNDS; load $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- 1. instructions ------------------------------------------------------------
ir_of() {   # callgrind output file: total instructions
    awk '/^(summary|totals):/ { v = $2 } END { print v + 0 }' "$1"
}
floor() {   # args...: instructions per operation of cryptofloor
    local a b
    valgrind --tool=callgrind --callgrind-out-file="$TMP/cf.1" "$FLOOR" "$@" 20 >/dev/null 2>&1 || die "cryptofloor $*"
    valgrind --tool=callgrind --callgrind-out-file="$TMP/cf.2" "$FLOOR" "$@" 40 >/dev/null 2>&1 || die "cryptofloor $*"
    a=$(ir_of "$TMP/cf.1"); b=$(ir_of "$TMP/cf.2")
    echo $(( (b - a) / 20 ))
}
worker_ir() {   # name workload-fn args: the worker's instructions for one run
    local n=$1 fn=$2 w f; shift 2
    rm -f "$TMP/cgw."*
    start "$n" valgrind --tool=callgrind --trace-children=yes \
        --callgrind-out-file="$TMP/cgw.%p"
    w=$WPID
    "$fn" "$@"
    stop "$n"
    f=$TMP/cgw.$w
    [ -s "$f" ] || die "$n: no callgrind output for worker $w"
    ir_of "$f"
}
wl_hs() { "$CLIENT" hs -n "$2" -P 1 -c TLS_AES_128_GCM_SHA256 -g X25519 "$1" >/dev/null || die "hs $*"; }
wl_h2() { h2load -n "$2" -c 4 -m 50 "https://127.0.0.1:$1/f10k" > "$TMP/cgh2.out" 2>&1 && grep -q "$2 succeeded" "$TMP/cgh2.out" || die "h2load $*: $(tail -3 "$TMP/cgh2.out")"; }
wl_h1() { h2load --h1 -n "$2" -c 4 -m 1 "https://127.0.0.1:$1/f10k" > "$TMP/cgh2.out" 2>&1 && grep -q "$2 succeeded" "$TMP/cgh2.out" || die "h2load --h1 $*: $(tail -3 "$TMP/cgh2.out")"; }
wl_h1_plain() { h2load --h1 -n "$2" -c 4 -m 1 "http://127.0.0.1:$1/f10k" > "$TMP/cgh2.out" 2>&1 && grep -q "$2 succeeded" "$TMP/cgh2.out" || die "h2load plain $*"; }
wl_bulk() {   # port suite file
    curl -sS -k --http1.1 --tlsv1.3 --tls13-ciphers "$2" -o /dev/null "https://127.0.0.1:$1/$3" || die "bulk $*"
}
per_op() {   # name fn arg-for-N arg-for-2N N...: (I(2N) - I(N)) / N
    local n=$1 fn=$2 a1=$3 a2=$4 div=$5 shift_args i1 i2; shift 5
    i1=$(worker_ir "$n" "$fn" "$@" "$a1")
    i2=$(worker_ir "$n" "$fn" "$@" "$a2")
    echo $(( (i2 - i1) / div ))
}
declare -A IR=()
part() { [ -z "${ONLY:-}" ] || [ "$ONLY" = "$1" ]; }
m() { awk -v v="$1" 'BEGIN { printf "%.3f M", v / 1e6 }'; }
r() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
if part instructions; then
echo
echo "== 1. instructions (callgrind; per handshake, or per MiB)"
IR[floor_ec]=$(floor hs "$TMP/certs/ecdsa.crt" "$TMP/certs/ecdsa.key")
IR[floor_ed]=$(floor hs "$TMP/certs/ed25519.crt" "$TMP/certs/ed25519.key")
IR[floor_aes]=$(floor bulk aes128gcm)
IR[floor_cha]=$(floor bulk chacha20)
for side in zigtls openssl; do
    if [ $side = zigtls ]; then pe=$P_ZT_EC pd=$P_ZT_ED; else pe=$P_OS_EC pd=$P_OS_ED; fi
    IR[${side}_ec]=$(per_op $side wl_hs "$CG_HS" $((2 * CG_HS)) "$CG_HS" "$pe")
    IR[${side}_ed]=$(per_op $side wl_hs "$CG_HS" $((2 * CG_HS)) "$CG_HS" "$pd")
    IR[${side}_aes]=$(per_op $side wl_bulk cg.bin cg2.bin "$CG_MB" "$pe" TLS_AES_128_GCM_SHA256)
    IR[${side}_cha]=$(per_op $side wl_bulk cg.bin cg2.bin "$CG_MB" "$pe" TLS_CHACHA20_POLY1305_SHA256)
    IR[${side}_h2]=$(per_op $side wl_h2 "$CG_REQ" $((2 * CG_REQ)) "$CG_REQ" "$pe")
    IR[${side}_h1]=$(per_op $side wl_h1 "$CG_REQ" $((2 * CG_REQ)) "$CG_REQ" "$pe")
done
IR[plain_h1]=$(per_op plain wl_h1_plain "$CG_REQ" $((2 * CG_REQ)) "$CG_REQ" "$P_PLAIN")
printf '  %-36s %12s %12s %12s %10s %10s\n' "" "OpenSSL" "zigtls" "floor" "zt/floor" "zt/OpenSSL"
for k in ec:"full handshake X25519 + ECDSA P-256" ed:"full handshake X25519 + Ed25519" \
         aes:"bulk AES-128-GCM, per MiB" cha:"bulk ChaCha20-Poly1305, per MiB"; do
    key=${k%%:*}
    printf '  %-36s %12s %12s %12s %10s %10s\n' "${k#*:}" "$(m ${IR[openssl_$key]})" \
        "$(m ${IR[zigtls_$key]})" "$(m ${IR[floor_$key]})" \
        "$(r ${IR[zigtls_$key]} ${IR[floor_$key]})" "$(r ${IR[zigtls_$key]} ${IR[openssl_$key]})"
done
floor10k=$(( ${IR[floor_aes]} * 10240 / 1048576 ))
for k in h2:"HTTP/2 10 KB response (-m 50)" h1:"HTTP/1.1 keep-alive 10 KB response"; do
    key=${k%%:*}
    printf '  %-36s %12s %12s %12s %10s %10s\n' "${k#*:}" "$(m ${IR[openssl_$key]})" \
        "$(m ${IR[zigtls_$key]})" "$(m $floor10k)" "" "$(r ${IR[zigtls_$key]} ${IR[openssl_$key]})"
done
echo "  (plain HTTP/1.1 keep-alive 10 KB response, no TLS: $(m ${IR[plain_h1]}); floor of a 10 KB"
echo "   response: its AES-128-GCM sealing alone)"
fi

# ---- 2. memory --------------------------------------------------------------------
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
idle_kb() {   # worker port client-opts...: kB of worker RSS per idle connection
    local w=$1 port=$2 f=$TMP/idle.out r0 r1 i; shift 2
    "$CLIENT" hs -n 50 -P 1 "$@" "$port" >/dev/null 2>&1 || die "idle warm-up"
    sleep 0.3; r0=$(rss "$w")
    : > "$f"
    "$CLIENT" idle -n "$IDLE_K" -S 1 -t 300 "$@" "$port" > "$f" 2>&1 &
    local cp=$!
    for i in $(seq 1 2400); do grep -q '^STEP 1 ' "$f" && break; kill -0 $cp 2>/dev/null || die "idle client: $(cat "$f")"; sleep 0.05; done
    sleep 0.5; r1=$(rss "$w")
    kill -USR1 $cp; sleep 0.2; kill -TERM $cp 2>/dev/null || true; wait $cp 2>/dev/null || true
    awk -v a="$r0" -v b="$r1" -v k="$IDLE_K" 'BEGIN { printf "%.2f", (b - a) / k }'
}
ulimit -n 65536 2>/dev/null || true
if part memory; then
echo
echo "== 2. idle memory: worker RSS growth per connection (kB), K=$IDLE_K, fresh workers"
printf '  %-44s %10s %10s %10s\n' "" plain zigtls OpenSSL
declare -A MEM=()
for when in handshake response; do
    for side in plain zigtls openssl; do
        start $side; w=$WPID
        opts=(-c TLS_AES_128_GCM_SHA256 -g X25519); port=$P_ZT_EC
        [ $side = openssl ] && port=$P_OS_EC
        [ $side = plain ] && { opts=(-p); port=$P_PLAIN; }
        # plain: connected, no request; TLS: right after the handshake
        [ $when = handshake ] && opts+=(-H)
        MEM[${when}_$side]=$(idle_kb "$w" "$port" "${opts[@]}")
        stop $side
    done
    label="right after the handshake (no request)"; [ $when = response ] && label="after one keep-alive response"
    printf '  %-44s %10s %10s %10s\n' "$label" "${MEM[${when}_plain]}" "${MEM[${when}_zigtls]}" "${MEM[${when}_openssl]}"
done
fi

# ---- 3. worker CPU and system calls -----------------------------------------------------------
ticks() { local l; read -r l < "/proc/$1/stat"; l=${l##*) }; set -- $l; echo "$(( ${12} + ${13} )) ${12}"; }
declare -A CPU=()
add() { CPU[$1]="${CPU[$1]:-} $2"; }
cpu_run() {   # key worker units fn args...: worker CPU us per unit
    local key=$1 w=$2 units=$3 fn=$4 t0 t1 u0 u1; shift 4
    read -r t0 u0 <<< "$(ticks "$w")"; "$fn" "$@"; read -r t1 u1 <<< "$(ticks "$w")"
    add "$key" "$(awk -v d=$((t1 - t0)) -v u="$units" -v h="$CLK_TCK" 'BEGIN { printf "%.2f", d * 1e6 / h / u }')"
    add "u_$key" "$(awk -v d=$((u1 - u0)) -v u="$units" -v h="$CLK_TCK" 'BEGIN { printf "%.2f", d * 1e6 / h / u }')"
}
h2() { h2load -n "$2" -c 20 -m 50 "https://127.0.0.1:$1/f10k" > "$TMP/h2.out" 2>&1 || die "h2load: $(tail -3 "$TMP/h2.out")"
       grep -q "$2 succeeded" "$TMP/h2.out" || die "h2load: $(grep requests: "$TMP/h2.out")"; }
h1() { h2load --h1 -n "$2" -c 20 -m 1 "https://127.0.0.1:$1/f10k" > "$TMP/h2.out" 2>&1 || die "h2load --h1: $(tail -3 "$TMP/h2.out")"
       grep -q "$2 succeeded" "$TMP/h2.out" || die "h2load --h1: $(grep requests: "$TMP/h2.out")"; }
hsl() { "$CLIENT" hs -n "$2" -P 2 -c TLS_AES_128_GCM_SHA256 -g X25519 "$1" >/dev/null || die "hs"; }
bulk() { local i; for i in $(seq 1 "$BULK_REPS"); do wl_bulk "$1" TLS_AES_128_GCM_SHA256 big.bin; done; }
if part cpu; then
echo
echo "== 3. worker CPU (utime+stime, $CLK_TCK Hz ticks), median of $ROUNDS rounds (min..max);"
echo "   last column: the same ratio for user time alone"
(
    flock -w 3600 9 || die "$LOCK busy for an hour"
    for round in $(seq 1 "$ROUNDS"); do
        for side in zigtls openssl; do
            start $side; w=$WPID
            if [ $side = zigtls ]; then pe=$P_ZT_EC pd=$P_ZT_ED; else pe=$P_OS_EC pd=$P_OS_ED; fi
            cpu_run hs_ec_$side "$w" "$HS_N" hsl "$pe" "$HS_N"
            cpu_run hs_ed_$side "$w" "$HS_N" hsl "$pd" "$HS_N"
            cpu_run bulk_$side "$w" "$(awk -v r="$BULK_REPS" 'BEGIN { print r * 256 * 1048576 / 1e9 }')" bulk "$pe"
            cpu_run h2_$side "$w" "$H2_N" h2 "$pe" "$H2_N"
            awk '/^finished in/ { print "    h2 '"$side"' round '"$round"': " $0 }' "$TMP/h2.out"
            cpu_run h1_$side "$w" "$H2_N" h1 "$pe" "$H2_N"
            stop $side
        done
    done
    declare -p CPU > "$TMP/cpu.vars"
) 9>>"$LOCK"
. "$TMP/cpu.vars"
stat3() { echo "$@" | tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f (%.1f..%.1f)", m, v[1], v[NR] }'; }
med() { echo "$@" | tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '  %-44s %22s %22s %8s %8s\n' "" "OpenSSL" "zigtls" "zt/OS" "user"

for k in hs_ec:"full handshake ECDSA, us/connection" hs_ed:"full handshake Ed25519, us/connection" \
         bulk:"bulk AES-128-GCM, ms/GB" h2:"HTTP/2 10 KB, -m 50, us/response" h1:"HTTP/1.1 keep-alive 10 KB, us/response"; do
    key=${k%%:*}; a=${CPU[${key}_openssl]}; b=${CPU[${key}_zigtls]}
    ua=${CPU[u_${key}_openssl]}; ub=${CPU[u_${key}_zigtls]}
    if [ $key = bulk ]; then
        a=$(for x in $a; do awk -v x=$x 'BEGIN { print x / 1000 }'; done); b=$(for x in $b; do awk -v x=$x 'BEGIN { print x / 1000 }'; done)
    fi
    printf '  %-44s %22s %22s %8s %8s\n' "${k#*:}" "$(stat3 $a)" "$(stat3 $b)" "$(r "$(med $b)" "$(med $a)")" "$(r "$(med $ub)" "$(med $ua)")"
done

echo
echo "== 3b. system calls of the worker per response (strace -c, $ST_N responses)"
sys_per() {   # worker fn port n
    local w=$1 fn=$2 port=$3 n=$4 sp
    strace -c -f -p "$w" -o "$TMP/st.txt" 2>/dev/null & sp=$!
    sleep 0.5; "$fn" "$port" "$n"; kill -INT $sp; wait $sp 2>/dev/null || true
    awk -v n="$n" '$NF ~ /^(write|writev|sendto|sendmsg)$/ { s += $4 } $NF ~ /^(read|readv|recvfrom|recvmsg)$/ { r += $4 }
                   END { printf "%.2f %.2f", s / n, r / n }' "$TMP/st.txt"
}
printf '  %-36s %18s %18s\n' "" "OpenSSL send recv" "zigtls send recv"
for wl in h2:"HTTP/2 10 KB, -m 50" h1:"HTTP/1.1 keep-alive 10 KB"; do
    fn=${wl%%:*}; res=()
    for side in openssl zigtls; do
        start $side; w=$WPID; port=$P_ZT_EC; [ $side = openssl ] && port=$P_OS_EC
        res+=("$(sys_per "$w" "$fn" "$port" "$ST_N")")
        stop $side
    done
    printf '  %-36s %18s %18s\n' "${wl#*:}" "${res[0]}" "${res[1]}"
done
fi
echo
echo "load at end $(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$(dirname "$OUT")"
cp "$TMP/out.txt" "$OUT"
echo "compare: written to $OUT"
