#!/bin/sh
# t/bogo/run.sh: run BoringSSL's test runner (BoGo), built beforehand by
# hand outside the repository (docs/conformance.md says how), against the
# shim build/bogo-shim with the project's configuration t/bogo/config.json.
#
#   BOGO_RUNNER=/path/to/runner.test t/bogo/run.sh [pattern]
#
# pattern: the runner's -test (semicolon-separated globs), default all.
# BOGO_WORKERS (default 2) parallel shims. Prints the runner's output
# (one PASSED/FAILED/UNIMPLEMENTED line per test) to build/bogo.log and
# the counts to stdout (disabled: by t/bogo/config.json); exits non-zero
# when a test failed.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${BOGO_RUNNER:?set BOGO_RUNNER to a built ssl/test/runner test binary}"
shim="$root/build/bogo-shim"
[ -x "$shim" ] || { echo "build the shim first: make" >&2; exit 2; }
log="$root/build/bogo.log"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
set -- ${1:+-test "$1"}
rc=0
(cd "$work" && "$BOGO_RUNNER" -shim-path "$shim" \
    -shim-config "$root/t/bogo/config.json" -allow-unimplemented -pipe \
    -num-workers "${BOGO_WORKERS:-2}" "$@") > "$log" 2>&1 || rc=$?
passed=$(grep -c '^PASSED' "$log" || true)
failed=$(grep -c '^FAILED' "$log" || true)
unimpl=$(grep -c '^UNIMPLEMENTED' "$log" || true)
# the disabled ones: every selected test, disabled included, listed by a
# stand-in shim that implements nothing, less those that ran
printf '#!/bin/sh\ncase "$*" in *-is-handshaker-supported*) echo No;; *) exit 89;; esac\n' \
    > "$work/none.sh"
chmod +x "$work/none.sh"
total=$(cd "$work" && "$BOGO_RUNNER" -shim-path "$work/none.sh" \
    -shim-config "$root/t/bogo/config.json" -allow-unimplemented -pipe \
    -include-disabled -num-workers "${BOGO_WORKERS:-2}" "$@" 2>/dev/null |
    grep -c '^UNIMPLEMENTED' || true)
grep '^FAILED' "$log" || true
echo "bogo: $passed passed, $failed failed," \
    "$((total - passed - failed - unimpl)) disabled," \
    "$unimpl unimplemented (log: $log)"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
