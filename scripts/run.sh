#!/usr/bin/env bash
# Runs cofferd in the foreground from the repository root with the default settings (data in
# ./data, S3 API on 127.0.0.1:9000). Extra flags come from $COFFER_ARGS, e.g.
#   COFFER_ARGS="--log-level debug --fsync never" make run
set -euo pipefail

cd "$(dirname "$0")/.."
bin=bin/cofferd
if [ ! -x "$bin" ]; then
    echo "run: $bin is missing; build it with make" >&2
    exit 1
fi
# Word splitting is the point: COFFER_ARGS holds several flags.
read -r -a extra <<<"${COFFER_ARGS:-}"
echo "run: cofferd on ${COFFER_LISTEN:-127.0.0.1:9000}, data in ${COFFER_DATA:-./data}${COFFER_ARGS:+, with $COFFER_ARGS} (Ctrl-C stops it)"
exec "$bin" "${extra[@]}"
