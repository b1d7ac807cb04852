#!/usr/bin/env bash
# Builds the two nginx dynamic modules of this repository against an nginx
# source tree (what "make module" runs; see docs/install.md).
#
#   mk/module.sh NGINX_SRC OUT_DIR
#
# NGINX_SRC is one of:
#   - Debian's nginx-dev tree (/usr/share/nginx/src): configured with the
#     flags Debian's nginx was built with (its conf_flags), so the modules
#     load into /usr/sbin/nginx;
#   - a release tarball's tree (./configure) or a git/hg checkout
#     (auto/configure): configured with --with-compat --with-http_v2_module,
#     as nginx.org's own binaries are (add NGX_CONFIGURE for the rest of your
#     nginx's "nginx -V" arguments that change binary compatibility).
#
# Environment:
#   NGX_DEBUG      "yes" adds --with-debug, "no" drops it, empty keeps the
#                  tree's choice (Debian: with; release: without)
#   NGX_CONFIGURE  extra configure arguments (one string, split on spaces)
#   NGX_CC_OPT     --with-cc-opt (default -O2)
#   MAKE           make program (default make)
#
# The tree is copied to OUT_DIR/nginx-src (nginx's own sources are never
# modified) and only the module targets are built there; the .so files are
# replaced atomically in OUT_DIR, so that a starting nginx never maps a
# half-written one.

set -euo pipefail

src=${1:?usage: mk/module.sh NGINX_SRC OUT_DIR}
out=${2:?usage: mk/module.sh NGINX_SRC OUT_DIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
make=${MAKE:-make}
debug=${NGX_DEBUG:-}
modules="ngx_http_zigtls_module ngx_stream_zigtls_module"

die() { echo "mk/module.sh: $*" >&2; exit 1; }

[ -d "$src" ] || die "$src: no such directory (NGINX_SRC)"
case "$debug" in ''|yes|no) ;; *) die "NGX_DEBUG=$debug: yes, no or empty" ;; esac

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$out/nginx-src

rm -rf "$work"
mkdir -p "$work"
# everything but a checkout's metadata and a previous build
tar -C "$src" --exclude=./.git --exclude=./.hg --exclude=./objs \
    --exclude=./Makefile -cf - . | tar -C "$work" -xf -
cd "$work"

flags=()
if [ -f conf_flags ]; then
    # Debian: a bash array NGX_CONF_FLAGS
    . ./conf_flags
    flags=("${NGX_CONF_FLAGS[@]}")
    configure=./configure
elif [ -f configure ] || [ -f auto/configure ]; then
    flags=(--with-compat --with-http_v2_module)
    configure=./configure
    [ -f configure ] || configure=auto/configure
else
    die "$src: not an nginx source tree (no configure, auto/configure or conf_flags)"
fi

[ -f src/core/nginx.h ] || die "$src: no src/core/nginx.h"
version=$(sed -n 's/^#define NGINX_VERSION *"\(.*\)"/\1/p' src/core/nginx.h)

args=()
for f in "${flags[@]}"; do
    case "$f" in
        --with-debug) [ "$debug" = no ] || args+=("$f") ;;
        # ours is added below, once
        --with-stream|--with-stream=*|--add-dynamic-module=*) ;;
        *) args+=("$f") ;;
    esac
done
if [ "$debug" = yes ]; then
    case " ${args[*]} " in *" --with-debug "*) ;; *) args+=(--with-debug) ;; esac
fi
# shellcheck disable=SC2206
[ -n "${NGX_CONFIGURE:-}" ] && args+=(${NGX_CONFIGURE})

echo "zigtls: nginx $version from $src, debug=$(
    case " ${args[*]} " in *" --with-debug "*) echo yes ;; *) echo no ;; esac)"

if ! sh "$configure" "${args[@]}" --with-stream=dynamic \
        --with-cc-opt="${NGX_CC_OPT:--O2}" --add-dynamic-module="$repo" \
        > configure.log 2>&1
then
    tail -20 configure.log >&2
    die "configure failed (full log: $work/configure.log)"
fi

targets=
for m in $modules; do targets="$targets objs/$m.so"; done
# shellcheck disable=SC2086
$make -f objs/Makefile $targets

for m in $modules; do
    cp "objs/$m.so" "$out/.$m.so.tmp"
    mv -f "$out/.$m.so.tmp" "$out/$m.so"
done
echo "$version" > "$out/nginx-version"
