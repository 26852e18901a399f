#!/usr/bin/env bash
# Start PostgreSQL and Redis on 127.0.0.1 when they are not answering; install them first on a fresh machine.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! listening 5432; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  # trust auth on loopback, as the project's machines have it
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  grep -q '^host all all 127.0.0.1/32 trust' "$hba" || as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
if ! listening 6379; then
  command -v redis-server >/dev/null || apt_install redis-server
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
# The browser test (tests/ui) drives Debian's chromium through Playwright, which downloads no browser itself.
[ -x /usr/bin/chromium ] || apt_install chromium
for port in 5432 6379; do
  for _ in $(seq 1 50); do listening "$port" && break; sleep 0.2; done
  listening "$port" || { echo "service on 127.0.0.1:$port did not start" >&2; exit 1; }
done
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='launchpad_ci'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE launchpad_ci" >/dev/null
echo "PostgreSQL and Redis are up on 127.0.0.1"
