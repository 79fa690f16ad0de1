#!/usr/bin/env bash
# Installs Mesa's lavapipe (software Vulkan) so the webgpu backend's tests have an adapter without a
# GPU. Debian bookworm's own Mesa (22.x) is too old for Dawn; bookworm-backports (25.x) works.
# Idempotent: re-running adds nothing twice and skips the install when lavapipe is already there.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

lavapipe_is_recent() {
  # the backports build is 25.x; the bookworm one (22.x) makes Dawn find no adapter
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 && [ -n "$v" ] && dpkg --compare-versions "$v" ge 24
}

if lavapipe_is_recent; then
  echo "install-gpu: lavapipe already installed ($(dpkg-query -W -f='${Version}' mesa-vulkan-drivers))"
  exit 0
fi

SOURCES=/etc/apt/sources.list.d/debian.sources
BACKPORTS=/etc/apt/sources.list.d/bookworm-backports.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # the same URIs as the main Debian entry (a mirror or snapshot where one is configured)
  uris=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' "$SOURCES" 2>/dev/null || true)
  uris=${uris:-http://deb.debian.org/debian}
  $SUDO tee "$BACKPORTS" >/dev/null <<SRC
Types: deb
URIs: $uris
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  echo "install-gpu: added bookworm-backports ($uris)"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1
echo "install-gpu: installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
