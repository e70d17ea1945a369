#!/usr/bin/env bash
# Starts (or reuses) a real single-node Apache Kafka 3.9.x broker in KRaft mode, without Docker.
# Needs only Java 17+ and Maven (Maven Central reachable on the first run).
#
#   scripts/kafka/start.sh            # last stdout line: KAFKA_BROKERS=127.0.0.1:19092
#   eval "$(scripts/kafka/start.sh)"  # stdout is KEY=VALUE lines only: KAFKA_PID, KAFKA_STARTED
#                                     # (true if this call started it), KAFKA_BROKERS; logs go to stderr
#   KAFKA_PORT=29092 scripts/kafka/start.sh
#   scripts/kafka/stop.sh [--purge]   # stops the broker this script started (by pid file)
#
# Environment (all optional):
#   KAFKA_PORT              PLAINTEXT listener on 127.0.0.1 (default 19092)
#   KAFKA_CONTROLLER_PORT   KRaft controller listener (default KAFKA_PORT+1)
#   KAFKA_VERSION           org.apache.kafka:kafka_2.13 version (default 3.9.2; stay on 3.9.x)
#   KAFKA_CACHE_DIR         cache root (default <repo>/.cache/kafka, git-ignored)
#   KAFKA_HEAP_OPTS         JVM heap (default -Xms512m -Xmx512m)
#   KAFKA_START_TIMEOUT     seconds to wait for the broker to answer (default 90)
#
# Layout under the cache root:
#   <version>/libs/*.jar          the broker's jars, gathered once by `mvn dependency:copy-dependencies`
#   data-<port>/                  KRaft metadata + logs, formatted once
#   run-<port>/server.properties  generated config; log4j.properties
#   run-<port>/kafka.pid          pid of the broker; run-<port>/logs/server.log its log
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

KAFKA_VERSION="${KAFKA_VERSION:-3.9.2}"
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_CACHE_DIR="${KAFKA_CACHE_DIR:-$ROOT/.cache/kafka}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms512m -Xmx512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
HOST=127.0.0.1

LIBS="$KAFKA_CACHE_DIR/$KAFKA_VERSION/libs"
DATA="$KAFKA_CACHE_DIR/data-$KAFKA_PORT"
RUN="$KAFKA_CACHE_DIR/run-$KAFKA_PORT"
PIDFILE="$RUN/kafka.pid"
LOGDIR="$RUN/logs"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

log() { echo "[kafka] $*" >&2; }
die() {
  log "ERROR: $*"
  if [ -f "$LOGDIR/server.log" ]; then
    log "last lines of $LOGDIR/server.log:"
    tail -n 30 "$LOGDIR/server.log" >&2 || true
  fi
  exit 1
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
pid_alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

# Asks the broker itself (ApiVersions over the Kafka protocol), not just the TCP port.
broker_answers() {
  timeout 30 "$JAVA" -Xmx128m -cp "$LIBS/*" -Dlog4j.configuration="file:$RUN/tools-log4j.properties" \
    kafka.admin.BrokerApiVersionsCommand --bootstrap-server "$HOST:$KAFKA_PORT" >/dev/null 2>&1
}

command -v "$JAVA" >/dev/null || die "java not found (need Java 17+)"
mkdir -p "$KAFKA_CACHE_DIR" "$RUN" "$LOGDIR"

# One start at a time per port (parallel test runs may call this together).
exec 9>"$RUN/start.lock"
flock -w 300 9 || die "timed out waiting for another start.sh on port $KAFKA_PORT"

# 1. The jars, once per version.
if [ ! -f "$LIBS/.complete" ]; then
  command -v mvn >/dev/null || die "mvn not found (needed once, to fetch the Kafka jars)"
  log "fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its dependencies into $LIBS"
  rm -rf "$LIBS"
  mkdir -p "$LIBS"
  mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies \
    -Dkafka.version="$KAFKA_VERSION" -DincludeScope=runtime -DoutputDirectory="$LIBS" >&2 ||
    die "mvn dependency:copy-dependencies failed"
  ls "$LIBS"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || die "kafka_2.13-$KAFKA_VERSION.jar missing in $LIBS"
  touch "$LIBS/.complete"
fi

cat >"$RUN/tools-log4j.properties" <<'EOF'
log4j.rootLogger=ERROR, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF

# 2. Reuse a broker that already runs on this port.
if port_open "$KAFKA_PORT"; then
  if broker_answers; then
    if pid_alive; then
      log "reusing broker pid $(cat "$PIDFILE") on $HOST:$KAFKA_PORT"
      echo "KAFKA_PID=$(cat "$PIDFILE")"
    else
      log "reusing a Kafka broker already listening on $HOST:$KAFKA_PORT (not started by this script)"
    fi
    echo "KAFKA_STARTED=false"
    echo "KAFKA_BROKERS=$HOST:$KAFKA_PORT"
    exit 0
  fi
  die "port $KAFKA_PORT is taken by something that does not answer as a Kafka broker; set KAFKA_PORT"
fi
if pid_alive; then
  # Our broker process exists but does not listen (yet, or any more): let it finish or stop it.
  log "broker pid $(cat "$PIDFILE") exists but port $KAFKA_PORT is closed; stopping it first"
  "$HERE/stop.sh" >&2 || true
fi
port_open "$KAFKA_CONTROLLER_PORT" && die "controller port $KAFKA_CONTROLLER_PORT is taken; set KAFKA_CONTROLLER_PORT"

# 3. Configuration.
cat >"$RUN/server.properties" <<EOF
# Generated by scripts/kafka/start.sh: single-node KRaft broker for development and tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
num.network.threads=2
num.io.threads=4
log.retention.hours=168
log.segment.bytes=67108864
EOF

cat >"$RUN/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=${kafka.logs.dir}/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=3
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka.clients=WARN
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
EOF

# 4. Storage, formatted once (the cluster id lives in $DATA/meta.properties).
if [ ! -f "$DATA/meta.properties" ]; then
  mkdir -p "$DATA"
  CLUSTER_ID="$("$JAVA" -cp "$LIBS/*" -Dlog4j.configuration="file:$RUN/tools-log4j.properties" kafka.tools.StorageTool random-uuid)"
  log "formatting $DATA (cluster id $CLUSTER_ID)"
  "$JAVA" -cp "$LIBS/*" -Dlog4j.configuration="file:$RUN/tools-log4j.properties" \
    kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$RUN/server.properties" >&2 ||
    die "kafka.tools.StorageTool format failed"
fi

# 5. Start in the background, detached from our stdout (callers reading it must not hang) and from
#    the lock (fd 9), which must be released when this script ends, not when the broker does.
log "starting Kafka $KAFKA_VERSION on $HOST:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT), log $LOGDIR/server.log"
# shellcheck disable=SC2086 # KAFKA_HEAP_OPTS holds several JVM flags
nohup setsid "$JAVA" $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
  -Dkafka.logs.dir="$LOGDIR" -Dlog4j.configuration="file:$RUN/log4j.properties" \
  -cp "$LIBS/*" kafka.Kafka "$RUN/server.properties" \
  </dev/null >>"$LOGDIR/stdout.log" 2>&1 9>&- &
echo $! >"$PIDFILE"

# 6. Wait until the port accepts and the broker answers ApiVersions.
deadline=$((SECONDS + KAFKA_START_TIMEOUT))
until port_open "$KAFKA_PORT"; do
  pid_alive || die "broker exited during start-up (see $LOGDIR/server.log and $LOGDIR/stdout.log)"
  [ $SECONDS -lt $deadline ] || die "broker did not open $HOST:$KAFKA_PORT within ${KAFKA_START_TIMEOUT}s"
  sleep 0.2
done
until broker_answers; do
  pid_alive || die "broker exited during start-up (see $LOGDIR/server.log)"
  [ $SECONDS -lt $deadline ] || die "broker did not answer ApiVersions within ${KAFKA_START_TIMEOUT}s"
  sleep 0.5
done
log "broker pid $(cat "$PIDFILE") is up after ${SECONDS}s"
echo "KAFKA_PID=$(cat "$PIDFILE")"
echo "KAFKA_STARTED=true"
echo "KAFKA_BROKERS=$HOST:$KAFKA_PORT"
