#!/usr/bin/env bash
# Fidelity check: builds plexcache, starts `plexcache emulate` with a small
# library on a free port, runs the python-plexapi check against it, stops
# the emulator. Exits non-zero when the check fails.
set -euo pipefail

cd "$(dirname "$0")/../.."
tracks="${FIDELITY_TRACKS:-800}"
token="fidelity-check-token"

python3 -c "import plexapi" 2>/dev/null || python3 -m pip install --quiet "plexapi==4.18.3"
# plexapi's notification listener needs it.
python3 -c "import websocket" 2>/dev/null || python3 -m pip install --quiet "websocket-client==1.9.0"
if [ -n "${PLEXCACHE_BIN:-}" ]; then
    binary="$PLEXCACHE_BIN"
else
    cargo build --quiet
    binary="${CARGO_TARGET_DIR:-target}/debug/plexcache"
fi

log="$(mktemp)"
PLEX_TOKEN="$token" "$binary" emulate --tracks "$tracks" --seed 5 --listen 127.0.0.1:0 >"$log" 2>&1 &
emulator=$!
cleanup() {
    kill "$emulator" 2>/dev/null || true
    wait "$emulator" 2>/dev/null || true
    rm -f "$log"
}
trap cleanup EXIT

url=""
for _ in $(seq 1 300); do
    url="$(grep -o 'http://[0-9.:]*' "$log" | head -n 1 || true)"
    [ -n "$url" ] && break
    if ! kill -0 "$emulator" 2>/dev/null; then
        cat "$log" >&2
        echo "the emulator did not start" >&2
        exit 1
    fi
    sleep 0.1
done
[ -n "$url" ] || { echo "the emulator did not report its address" >&2; exit 1; }

python3 tests/fidelity/plexapi_check.py "$url" "$token"
