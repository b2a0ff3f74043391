#!/usr/bin/env bash
# Starts a complete local mpic deployment and runs real validations against it:
# Redis, knotd (authoritative DNS for mpic.test), pebble-challtestsrv (HTTP-01 challenge
# server), one coordinator on 127.0.0.1:8080 and one worker for each of 9 perspectives in
# 5 RIRs. Everything binds to loopback and is stopped by deploy/local/down.sh (PID files).
# Exits non-zero when a demo validation does not give the verdict its zone data implies.
# Settings (environment): MPIC_LOCAL_DIR (state, logs, PID file), MPIC_PORT (API), the peers'
# ports MPIC_REDIS_PORT, MPIC_KNOT_PORT, MPIC_HTTP01_PORT, MPIC_CHALL_MGMT_PORT,
# MPIC_CHALL_DNS_PORT; MPIC_COORDINATOR and MPIC_WORKER (both: use these binaries, build none).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
state="${MPIC_LOCAL_DIR:-/tmp/mpic-local}"
port="${MPIC_PORT:-8080}"
redis_port="${MPIC_REDIS_PORT:-16390}" knot_port="${MPIC_KNOT_PORT:-15353}"
http01_port="${MPIC_HTTP01_PORT:-15002}" chall_mgmt="${MPIC_CHALL_MGMT_PORT:-15055}"
chall_dns="${MPIC_CHALL_DNS_PORT:-15053}"
stop_cmd="bash deploy/local/down.sh"
[ "$state" = /tmp/mpic-local ] || stop_cmd="MPIC_LOCAL_DIR=$state $stop_cmd"
cd "$root"
bash deploy/install-deps.sh
if [ -n "${MPIC_COORDINATOR:-}" ] && [ -n "${MPIC_WORKER:-}" ]; then
  coordinator="$MPIC_COORDINATOR" worker="$MPIC_WORKER"
else
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" --target mpic-coordinator mpic-worker >/dev/null
  coordinator=build/mpic-coordinator worker=build/mpic-worker
fi
[ -f "$state/pids" ] && bash deploy/local/down.sh
mkdir -p "$state"/{knot/run,knot/db,knot/zones,logs}
: > "$state/pids"
start() { # name, command...
  local name="$1"; shift
  "$@" >"$state/logs/$name.log" 2>&1 &
  echo "$! $name" >> "$state/pids"
}
wait_tcp() { # port
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "port $1 did not open" >&2; return 1
}

cp deploy/local/zones/mpic.test.zone "$state/knot/zones/"
cat > "$state/knot/knot.conf" <<KNOT
server:
    rundir: "$state/knot/run"
    listen: [ 127.0.0.1@$knot_port ]
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: "$state/knot/run/knot.sock"
database:
    storage: "$state/knot/db"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "$state/knot/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: mpic.test
KNOT
start redis redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --hash-max-listpack-value 1024
start knotd knotd -c "$state/knot/knot.conf"
start challtestsrv pebble-challtestsrv -management "127.0.0.1:$chall_mgmt" -dns01 "127.0.0.1:$chall_dns" \
  -http01 "127.0.0.1:$http01_port" -https01 "" -tlsalpn01 "" -defaultIPv6 ""
wait_tcp "$redis_port"; wait_tcp "$knot_port"; wait_tcp "$chall_mgmt"

# the sealed perspective channel: one key file per perspective (0600), kept across restarts
mkdir -p -m 700 "$state/keys"
for p in us-east-1 us-west-2 ca-central-1 eu-central-1 eu-west-1 ap-northeast-1 ap-southeast-1 sa-east-1 af-south-1; do
  [ -s "$state/keys/$p.1.key" ] || (umask 077; openssl rand -hex 32 > "$state/keys/$p.1.key")
done
sed -e "s/@REDIS@/127.0.0.1:$redis_port/" -e "s/@LISTEN@/127.0.0.1:$port/" \
    -e "s/@RESOLVER@/127.0.0.1:$knot_port/" -e "s/@SECRET@/$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')/" \
    -e "s|@KEYDIR@|$state/keys|g" \
    deploy/local/config.json.in > "$state/config.json"
start coordinator "$coordinator" --config "$state/config.json"
for p in us-east-1 us-west-2 ca-central-1 eu-central-1 eu-west-1 ap-northeast-1 ap-southeast-1 sa-east-1 af-south-1; do
  start "worker-$p" "$worker" --config "$state/config.json" --perspective "$p" \
    --lab-http-port "$http01_port" --lab-allow-private
done
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { echo "coordinator not healthy; see $state/logs" >&2; exit 1; }

# an HTTP-01 challenge for www.mpic.test on the challenge server
curl -sf -d '{"token":"demo-token","content":"demo-token.demo-thumbprint"}' "http://127.0.0.1:$chall_mgmt/add-http01" >/dev/null

show() { # title, expected is_valid (true or false), request body; fails on another verdict
  echo "== $1"
  curl -s --max-time 30 -X POST "http://127.0.0.1:$port/mpic" -d "$3" | /usr/bin/python3 -c '
import json, sys
want = sys.argv[1] == "true"
try:
    r = json.load(sys.stdin)
except ValueError:
    print("  error: no JSON answer"); sys.exit(1)
if "is_valid" not in r:
    print("  error:", json.dumps(r)); sys.exit(1)
print("  is_valid=%s  perspectives passed %d/%d (quorum %d)" % (r["is_valid"],
      sum(p["check_response"]["check_passed"] for p in r["perspectives"]), len(r["perspectives"]),
      r["actual_orchestration_parameters"]["quorum_count"]))
for p in r["perspectives"]:
    c = p["check_response"]
    d = c["details"]
    extra = d.get("found_at") or d.get("response_status_code") or ""
    print("   %-16s completed=%-5s passed=%-5s %s" % (p["perspective_code"], c["check_completed"], c["check_passed"], extra))
if r["is_valid"] is not want:
    print("  UNEXPECTED: is_valid should be %s" % want); sys.exit(1)' "$2"
}
failed=0
show "CAA www.mpic.test (issue ca.mpic.test at the apex: permitted)" true \
  '{"check_type":"caa","domain_or_ip_target":"www.mpic.test"}' || failed=1
show "CAA deny.mpic.test (issue other-ca.example: not permitted)" false \
  '{"check_type":"caa","domain_or_ip_target":"deny.mpic.test"}' || failed=1
show "acme-http-01 www.mpic.test" true \
  '{"check_type":"dcv","domain_or_ip_target":"www.mpic.test","dcv_check_parameters":{"validation_method":"acme-http-01","token":"demo-token","key_authorization":"demo-token.demo-thumbprint"}}' || failed=1
if [ "$failed" -ne 0 ]; then
  echo "a demo validation gave an unexpected verdict; the deployment keeps running: see" \
       "$state/logs, stop it with: $stop_cmd" >&2
  exit 1
fi
cat <<MSG

mpic is running (state and logs in $state). Try:
  curl -s -X POST localhost:$port/mpic -d '{"check_type":"caa","domain_or_ip_target":"www.mpic.test"}'
Stop it with: $stop_cmd
MSG
