#!/bin/bash
# Ray beside wray (issue 22): makes a Python virtualenv with Ray 2.58.0 and
# numpy in a cache directory (once), then prints Ray's figures for wray's
# bench rows as JSON lines (bench/peers/ray_rows.py). Not part of npm test.
#
#   bench/peers/ray.sh [--filter TEXT]     npm run bench -- --peers ray runs it
set -euo pipefail
RAY_VERSION=2.58.0
here="$(cd "$(dirname "$0")" && pwd)"
venv="${WRAY_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wray-peers}/ray-$RAY_VERSION"
if ! "$venv/bin/python" -c "import ray, numpy" 2>/dev/null; then
  echo "bench/peers: installing ray==$RAY_VERSION and numpy into $venv (once)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "ray==$RAY_VERSION" numpy >&2
fi
exec "$venv/bin/python" "$here/ray_rows.py" "$@"
