#!/usr/bin/env bash
# Prints the Redis 7 ACL users of an mpic deployment, one per role:
#   mpic-coordinator      every command mpic needs, on <prefix>:* keys only, nothing dangerous
#   mpic-worker-<region>  its own region's job stream only (read group, ack, claim; never XADD
#                         a job), and XADD to <prefix>:results only (never read results)
# Passwords are read from (or created in) PWDIR/<user>.pass, mode 0600.
# usage: acl-users.sh [--aclfile] PREFIX PWDIR REGION...
#   default output: ACL SETUSER lines for `redis-cli -h H -p P < file` (users in memory);
#   --aclfile: lines for a Redis `aclfile` (passwords stored as SHA-256, `#<hex>`).
set -euo pipefail
mode=commands
if [ "${1:-}" = "--aclfile" ]; then mode=aclfile; shift; fi
if [ $# -lt 3 ]; then
  echo "usage: $0 [--aclfile] PREFIX PWDIR REGION..." >&2
  exit 2
fi
prefix=$1 pwdir=$2
shift 2
valid='^[a-z0-9][a-z0-9.-]{0,62}$'
[[ $prefix =~ $valid ]] || { echo "bad prefix: $prefix" >&2; exit 2; }
umask 077
mkdir -p "$pwdir"

password() { # user -> the password (created once, 0600)
  local f="$pwdir/$1.pass"
  [ -s "$f" ] || openssl rand -hex 24 > "$f"
  chmod 600 "$f"
  tr -d '\n' < "$f"
}

emit() { # user, rules...
  local user=$1 pass
  shift
  pass=$(password "$user")
  if [ $mode = aclfile ]; then
    echo "user $user on #$(printf '%s' "$pass" | sha256sum | cut -d' ' -f1) $*"
  else
    echo "ACL SETUSER $user reset on >$pass $*"
  fi
}

q() { # a selector: quoted for redis-cli, bare for an aclfile
  if [ $mode = aclfile ]; then echo "($*)"; else echo "\"($*)\""; fi
}

base="resetchannels -@all +ping +auth +hello +client|setname"
emit mpic-coordinator "$base ~$prefix:* +@read +@write +@stream +@hash +@sortedset" \
  "+@keyspace +@scripting +@transaction -@dangerous +client|setname"
for region in "$@"; do
  [[ $region =~ $valid ]] || { echo "bad region: $region" >&2; exit 2; }
  emit "mpic-worker-$region" "$base" \
    "$(q "~$prefix:jobs:{$region} +xreadgroup +xack +xclaim +xautoclaim +xgroup|create" \
         "+xgroup|delconsumer +xinfo|consumers")" \
    "$(q "%W~$prefix:results +xadd")"
done
