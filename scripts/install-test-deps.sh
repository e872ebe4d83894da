#!/usr/bin/env bash
# System packages the test suite needs, from Debian: Chromium (browser tests), PyTorch + ONNX +
# pytest (the training-loss and parity tests, run with /usr/bin/python3) and heif-enc (HEIC inputs
# generated at test time). Skips apt when everything is already there.
set -euo pipefail
packages=(python3-torch python3-torchvision python3-onnx python3-pytest chromium libheif-examples imagemagick)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-deps: all system packages present"
  exit 0
fi
sudo=''
[ "$(id -u)" -eq 0 ] || sudo='sudo'
echo "install-test-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
