#!/usr/bin/env bash
# The webgpu figures on an NVIDIA GPU machine (the `device` tool), PyTorch measured in the same run.
#
# Here, once, after `npm ci` (which builds):
#   ../shared/gpu/pack.sh .gpu && cp ../shared/gpu/enter.sh .gpu/ && grep -qx '/.gpu/' .git/info/exclude || echo /.gpu/ >> .git/info/exclude
# Then with the device tool, carrying `.gpu`:
#   bash bench/gpu-device.sh            # writes $OUT/webgpu-{gpu,norobust,prefetch,profile}.json (and prints them)
# Extra arguments go to bench/webgpu.js (e.g. --only gemm --sizes 1024,4096).
set -euo pipefail
repo=$(pwd)
eval "$(bash .gpu/enter.sh .gpu)"          # node, the Vulkan loader, the packed project in /tmp/gpu-app
cp -r "$repo/bench" /tmp/gpu-app/          # the scripts travel with the working tree, not the pack
out=${OUT:-/tmp}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
# the cpu column on every core (bit-identical to one thread), so the 4096 products there take seconds, not minutes
export GRAPHC_CPU_THREADS=${GRAPHC_CPU_THREADS:-$(nproc)}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
# every GEMM tile setting (64, 128, auto) for the GEMMs and the MLP step, PyTorch alongside
node bench/webgpu.js --torch --gemm-tile all --runs 10 --json "$@" | tee "$out/webgpu-gpu.json"
# the same without Dawn's bounds clamps (graphc's kernels bound their own indices): what robustness costs
GRAPHC_WEBGPU_DAWN_TOGGLES=disable_robustness node bench/webgpu.js --sizes 1024,4096 --runs 10 --json | tee "$out/webgpu-norobust.json"
# and with the next k step's tiles prefetched into registers (setWebGpuGemmPrefetch)
GRAPHC_WEBGPU_GEMM_PREFETCH=1 node bench/webgpu.js --only gemm,mlp --sizes 1024,4096 --gemm-tile all --runs 10 --json | tee "$out/webgpu-prefetch.json"
# where the webgpu time goes on this GPU, per op (GPU timestamps): the MLP step and resnet20
node bench/webgpu-profile.js --runs 10 --json | tee "$out/webgpu-profile.json"
