#!/usr/bin/env bash
# Debian/Ubuntu packages ScaleLab needs. Usage: scripts/system-packages.sh app|test
#   app:  the shared libraries and fonts a Qt window needs
#   test: also OpenSSH, SLURM, munge and Open MPI for the real test cluster, and Xvfb
set -euo pipefail
what=${1:-app}
app_pkgs=(fonts-dejavu-core libegl1 libgl1 libopengl0 libglib2.0-0 libfontconfig1 libdbus-1-3
          libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
          libxcb-image0 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0
          libxcb-xkb1 libx11-xcb1)
test_pkgs=(openssh-server slurm-wlm munge openmpi-bin libopenmpi-dev xvfb procps)
pkgs=("${app_pkgs[@]}")
# Debian's own python3 needs python3-venv for `python3 -m venv`.
"${PYTHON:-python3}" -c "import ensurepip" 2>/dev/null || pkgs+=(python3-venv)
if [ "$what" = test ]; then
    pkgs+=("${test_pkgs[@]}")
    # The test cluster's jobs run on the system Python in a venv (readable by its test user).
    [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import ensurepip" 2>/dev/null || pkgs+=(python3 python3-venv)
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
    echo "scalelab: please install these system packages: ${missing[*]}" >&2
    exit 0
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "scalelab: installing system packages: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
