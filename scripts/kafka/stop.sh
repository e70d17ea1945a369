#!/usr/bin/env bash
# Stops the broker that scripts/kafka/start.sh started on KAFKA_PORT (default 19092), by its pid
# file. Leaves the jars and the data in the cache; `--purge` also deletes this port's data.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CACHE_DIR="${KAFKA_CACHE_DIR:-$ROOT/.cache/kafka}"
RUN="$KAFKA_CACHE_DIR/run-$KAFKA_PORT"
DATA="$KAFKA_CACHE_DIR/data-$KAFKA_PORT"
PIDFILE="$RUN/kafka.pid"

log() { echo "[kafka] $*" >&2; }

if [ -f "$PIDFILE" ]; then
  pid="$(cat "$PIDFILE")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping broker pid $pid on port $KAFKA_PORT"
    kill -TERM "$pid"
    for _ in $(seq 1 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "broker pid $pid did not stop within 30s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  else
    log "no broker running with pid $pid (stale pid file)"
  fi
  rm -f "$PIDFILE"
else
  log "no pid file at $PIDFILE: nothing to stop"
fi

if [ "${1:-}" = "--purge" ]; then
  log "deleting $DATA"
  rm -rf "$DATA"
fi
