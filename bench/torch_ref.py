#!/usr/bin/env python3
"""PyTorch figures for bench/webgpu.js --torch: the same GEMMs and MLP training step, on the same GPU.

    python3 bench/torch_ref.py --sizes 256,1024,4096 --runs 20 --json

- gemm N: C = A @ B for N x N float32 matrices already on the device, TF32 off (plain fp32, what a
  WGSL GEMM computes). Timed as `runs` back-to-back matmuls, then one synchronize: the mean time of
  one product with eager launch overhead, the same protocol bench/webgpu.js uses for graphc.
- mlp: one training step of a 784-1024-1024-10 MLP (ReLU, cross-entropy, Adam lr 0.001), batch
  512, fp32, eager: forward, backward, optimizer step, and loss.item() every step (graphc fetches
  the loss every step too). Median of `runs` steps after warm-up.

Prints one JSON object: { device, torch, tf32, results: [{ name, ms, tflops? }] }.
"""
import argparse
import json
import statistics
import time

import torch


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="256,512,1024,2048,4096")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--only", choices=["gemm", "mlp"], default=None)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--json", action="store_true")
    return p.parse_args()


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def gemm(n, args):
    dev = args.device
    g = torch.Generator(device="cpu").manual_seed(n)
    a = (torch.rand(n, n, generator=g) * 2 - 1).to(dev)
    b = (torch.rand(n, n, generator=g) * 2 - 1).to(dev)
    c = torch.empty(n, n, device=dev)
    for _ in range(args.warmup):
        torch.matmul(a, b, out=c)
    sync(dev)
    start = time.perf_counter()
    for _ in range(args.runs):
        torch.matmul(a, b, out=c)
    sync(dev)
    ms = (time.perf_counter() - start) * 1000 / args.runs
    return {"name": f"matmul {n}x{n} @ {n}x{n}", "ms": ms, "tflops": 2 * n**3 / ms / 1e9}


def mlp(args):
    dev = args.device
    torch.manual_seed(0)
    sizes = [784, 1024, 1024, 10]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    x = (torch.rand(512, 784) * 2 - 1).to(dev)
    y = (torch.arange(512) * 7 % 10).to(dev)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    flops = sum(3 * 2 * 512 * sizes[i] * sizes[i + 1] for i in range(len(sizes) - 1))
    ms = statistics.median(times)
    return {"name": "MLP 784-1024-1024-10 training step (Adam, batch 512)", "ms": ms, "tflops": flops / ms / 1e9}


def main():
    args = parse_args()
    # plain fp32 everywhere: TF32 tensor cores would compute a different (less precise) product
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    results = []
    if args.only in (None, "gemm"):
        for n in [int(s) for s in args.sizes.split(",")]:
            results.append(gemm(n, args))
    if args.only in (None, "mlp"):
        results.append(mlp(args))
    device = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu"
    out = {"device": device, "torch": torch.__version__, "tf32": False, "results": results}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{device}, torch {torch.__version__}, TF32 off")
        for r in results:
            print(f"{r['name']}: {r['ms']:.3f} ms, {r['tflops']:.2f} TFLOP/s")


if __name__ == "__main__":
    main()
