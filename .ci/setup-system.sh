#!/usr/bin/env bash
# System packages the test suite uses (Debian): real training data, ONNX's operator test suite,
# Graphviz, Chromium (graphc in a web page), and a software Vulkan adapter (lavapipe) so WebGPU
# kernels run without a GPU. Idempotent; needs root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends dataset-fashion-mnist libonnx-testdata graphviz chromium >/dev/null
if [ -f "$(dirname "$0")/install-gpu.sh" ]; then
  bash "$(dirname "$0")/install-gpu.sh"
fi
