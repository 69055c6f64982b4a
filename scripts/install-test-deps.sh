#!/usr/bin/env bash
# Installs the Debian packages of the real clients the tests drive (aws cli, rclone, restic, s3cmd,
# litmus, lftp, borg, sshfs, chromium, systemd-analyze). Part of the README's second quick-start
# command: `sudo ./scripts/install-test-deps.sh && npm ci && npm test`. Needs root (or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(awscli rclone restic s3cmd litmus lftp borgbackup sshfs fuse3 openssh-client curl chromium systemd)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
