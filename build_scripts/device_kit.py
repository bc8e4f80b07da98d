#!/usr/bin/env python3
"""The device training kit (docs/DEVICE.md): a lucky GPU session becomes a model in one prepared call.

  pack        here:   ../shared/data/utkface-aligned-200/train -> .pack/utkface-train-128 (ignored, ~38 MB)
  assets      here:   what the perceptual term needs there (LPIPS's package and its VGG16 in fp16) -> .device-assets
  plan        here:   sizes of what travels, and the exact device `run` call(s) to make
  train       there:  stage the pack, train for N minutes (images/s and TFLOP/s printed as it goes), export
                      the EMA model, split it into <= 15 MiB parts and copy parts + log into --out ($OUT)
  reassemble  here:   join the returned parts, check their SHA-256 and load the model

The same `train` runs on the CPU in the suite's rehearsal test (tests/engine/test_device_kit.py), so a GPU
run cannot die on a path or an import. Only the standard library, numpy, torch, OpenCV and safetensors
are needed there: all are in the device image (KINDS.md), so nothing has to travel as wheels.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.downloads import sha256_of  # noqa: E402

PACK = ".pack/utkface-train-128"
ASSETS = ".device-assets"  # ignored; carried with the training call when the perceptual term is on
LPIPS_WHEEL = "lpips==0.1.4"
STAGE = ".device-stage"  # ignored; on a warm machine it outlives a call, so a pack can arrive over two
RUN = ".device-run"
PART_BYTES = 15 * 2**20  # $OUT takes files of at most 16 MiB
CARRY_LIMIT = 64 * 2**20
OUT_FILES = 8


# -- pack ------------------------------------------------------------------------------------------------
def cmd_pack(args) -> int:
    from engine.training.pack import write_pack

    t = time.time()
    manifest = write_pack(Path(args.src), ROOT / args.out, size=args.size, quality=args.quality,
                          shard_mb=args.shard_mb, limit=args.limit or None)
    total = sum(s["bytes"] for s in manifest["shards"])
    print(f"packed {manifest['count']} faces at {args.size} px into {len(manifest['shards'])} shards, "
          f"{total / 2**20:.1f} MiB, in {time.time() - t:.0f} s -> {args.out}")
    return 0


# -- assets ----------------------------------------------------------------------------------------------
def cmd_assets(args) -> int:
    """LPIPS-VGG for the perceptual term, for a device image that has torch and torchvision but not lpips: the
    lpips package unpacked from its wheel, and the converted VGG16 in fp16 (29 MB; the cache keeps fp32)."""
    import tempfile
    import zipfile

    import torch
    from safetensors.torch import load_file, save_file

    from engine.evaluation.backbones import VGG_FILE, ensure_vgg16

    out = ROOT / args.out
    site = out / "site"
    site.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-d", tmp,
                            LPIPS_WHEEL], capture_output=True, text=True)
        wheels = list(Path(tmp).glob("lpips-*.whl"))
        if r.returncode or not wheels:
            print(f"could not fetch {LPIPS_WHEEL}: {r.stderr[-400:]}", file=sys.stderr)
            return 2
        with zipfile.ZipFile(wheels[0]) as z:
            z.extractall(site)
    vgg = {k: v.to(torch.float16) for k, v in load_file(str(ensure_vgg16())).items()}
    save_file(vgg, str(out / VGG_FILE))
    print(f"wrote {args.out}: lpips package and {VGG_FILE} (fp16), {folder_bytes(out) / 2**20:.1f} MiB")
    return 0


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.is_dir() else 0


def use_assets(assets: Path) -> None:
    """On the device: import lpips from the carried package, and find the carried VGG16 as the cache's."""
    if (assets / "site").is_dir():
        sys.path.insert(0, str(assets / "site"))
        os.environ["FACEBRIDGE_CACHE"] = str(assets)


# -- plan ------------------------------------------------------------------------------------------------
def tracked_bytes() -> int:
    """What travels besides carried paths: tracked files plus untracked files git does not ignore."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True).stdout
    return sum((ROOT / p).stat().st_size for p in out.decode().split("\0") if p and (ROOT / p).is_file())


def plan_calls(tree: int, shards: list[tuple[str, int]], limit: int = CARRY_LIMIT) -> list[list[str]]:
    """Group shards into calls so that tree + the call's shards (+ manifest) fit the carry limit."""
    calls, current, size = [], [], tree
    for name, nbytes in shards:
        if tree + nbytes > limit:
            raise ValueError(f"shard {name} ({nbytes / 2**20:.1f} MiB) cannot travel beside the "
                             f"{tree / 2**20:.1f} MiB tree; repack with a smaller --shard-mb")
        if size + nbytes > limit:
            calls.append(current)
            current, size = [], tree
        current.append(name)
        size += nbytes
    calls.append(current)
    return calls


def cmd_plan(args) -> int:
    from engine.training.pack import read_manifest

    pack = ROOT / args.pack
    manifest = read_manifest(pack)
    assets = folder_bytes(ROOT / ASSETS)
    tree = tracked_bytes()
    shards = [(s["file"], s["bytes"]) for s in manifest["shards"]]
    # the assets travel with the last call: plan them as one more shard, last, so that call keeps room for them
    planned = plan_calls(tree, shards + ([(ASSETS, assets)] if assets else []))
    calls = [[n for n in names if n != ASSETS] for names in planned]
    print(f"tree {tree / 2**20:.1f} MiB; pack {sum(b for _, b in shards) / 2**20:.1f} MiB in {len(shards)} shards; "
          f"assets {assets / 2**20:.1f} MiB; {len(calls)} call(s)")
    for i, names in enumerate(calls):
        last = i == len(calls) - 1
        # earlier calls only leave their shards in the stage folder: the next call must follow at once
        # (a machine goes back after 30 s idle)
        carry = [args.pack] if len(calls) == 1 else [f"{args.pack}/{n}" for n in names] + [f"{args.pack}/manifest.json"]
        if last and assets:
            carry.append(ASSETS)
        command = (f"PYTHONUNBUFFERED=1 python3 build_scripts/device_kit.py train --out $OUT {args.train_args}".strip()
                   if last else "python3 build_scripts/device_kit.py stage")
        print(json.dumps({"call": i + 1, "carry": carry, "command": command, "timeout_s": 600}))
    return 0


# -- train (on the device) -------------------------------------------------------------------------------
def stage(pack: Path, stage_dir: Path) -> tuple[Path, list[str]]:
    """Copy the carried shards into the stage folder; return it and the shards still missing."""
    from engine.training.pack import MANIFEST, missing_shards

    staged = stage_dir / "pack"
    staged.mkdir(parents=True, exist_ok=True)
    if pack.is_dir():
        for f in sorted(pack.iterdir()):
            if f.suffix == ".npz" or f.name == MANIFEST:
                shutil.copy2(f, staged / f.name)
    if not (staged / MANIFEST).exists():
        raise SystemExit(f"no face pack: carry {PACK} (make it with `device_kit.py pack`)")
    return staged, missing_shards(staged)


def cmd_stage(args) -> int:
    staged, missing = stage(ROOT / args.pack, ROOT / args.stage)
    print(f"staged into {staged}; still missing: {', '.join(missing) or 'nothing'}")
    return 0


def split(path: Path, out: Path, part_bytes: int = PART_BYTES) -> dict:
    parts = []
    with open(path, "rb") as f:
        for i, block in enumerate(iter(lambda: f.read(part_bytes), b"")):
            name = f"{path.name}.part{i:02d}"
            (out / name).write_bytes(block)
            parts.append({"file": name, "bytes": len(block), "sha256": hashlib.sha256(block).hexdigest()})
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": sha256_of(path), "parts": parts}


def data_plan(args) -> tuple[str, int]:
    """The batched tensor path where the range allows it (it is what the rehearsal exercises); the per-sample
    path, fed by the host's spare cores, where the range has old-photo damage, which only that path has."""
    from engine.degradations import train_ranges

    path = args.data_path or ("per-sample" if train_ranges(args.degradation).old_photo else "batched")
    workers = args.data_workers if args.data_workers >= 0 else (
        max(1, (os.cpu_count() or 2) - 2) if path == "per-sample" else 0)
    return path, workers


def cmd_train(args) -> int:
    import torch

    from engine.device import resolve_device
    from engine.progress import Progress
    from engine.training.config import TrainConfig
    from engine.training.export import export_run
    from engine.training.loop import train

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    staged, missing = stage(ROOT / args.pack, ROOT / args.stage)
    if missing:
        print(f"the pack is incomplete ({', '.join(missing)} missing): carry them, or make the stage call "
              "first on this warm machine", file=sys.stderr)
        return 3
    device = resolve_device(args.device)
    print(f"device: {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}; torch "
          f"{torch.__version__}", flush=True)
    use_assets(ROOT / args.assets)
    data_path, workers = data_plan(args)
    print(f"data: {data_path} path, {workers} worker process(es), degradation {args.degradation}", flush=True)
    if args.perceptual > 0:
        import lpips

        print(f"perceptual: LPIPS-VGG x {args.perceptual} from {Path(lpips.__file__).parent}", flush=True)
    run = ROOT / args.run
    cfg = TrainConfig(
        data=str(staged), out=str(run), preset=args.preset, image_size=args.image_size, batch=args.batch,
        lr=args.lr, warmup=args.warmup, minutes=args.minutes, schedule="time", steps=10**9,
        param="precond", time_sampling="steps", ot_ode=True, ema_halflife=args.ema_halflife, hashing=args.hashing,
        degradation=args.degradation, perceptual=args.perceptual, perceptual_share=args.perceptual_share,
        perceptual_crop=args.perceptual_crop, data_workers=workers,
        init=str(ROOT / args.init) if args.init else "", data_path=data_path, channels_last=args.channels_last,
        compile=args.compile, device=args.device, limit=args.limit, seed=args.seed,
        log_every=args.log_every, ckpt_every=args.ckpt_every, sample_every=0)

    def show(p: Progress) -> None:
        if p.message:
            print(f"step {p.step}: {p.message}", flush=True)

    t = time.time()
    result = train(cfg, callback=show)
    print(f"trained: {json.dumps(result)} in {time.time() - t:.0f} s", flush=True)
    model = run / args.name
    from engine.cli.paths import default_model_path

    template_model = ROOT / args.template_model if args.template_model else default_model_path()
    export_run(run, model, template_model=str(template_model), default_steps=args.default_steps)
    manifest = split(model, out)
    (out / "parts.json").write_text(json.dumps(manifest, indent=2))
    for name in ("log.jsonl", "samples.png"):
        if (run / name).exists():
            shutil.copy2(run / name, out / name)
    if args.bench:
        bench(model, args, out / "bench.md", quick=args.bench == "quick")
    files = sorted(p.name for p in out.iterdir())
    if len(files) > OUT_FILES:
        print(f"warning: {len(files)} files in {out}, more than the {OUT_FILES} that come back", file=sys.stderr)
    print(f"exported {model.name} ({manifest['bytes'] / 2**20:.1f} MiB) as {len(manifest['parts'])} parts: "
          f"{' '.join(files)}", flush=True)
    return 0


def bench(model: Path, args, report: Path, quick: bool = False) -> None:
    """The GPU numbers BENCHMARKS.md lacks: the training step (data paths, images/s, TFLOP/s), the network
    (batch sizes; with --tuning bf16/fp16, channels_last, compile, CUDA graphs), and the training step's
    channels_last / compile variants, most valuable first. Each part has its own time limit; a failure is
    written into the report instead of losing what came before. quick: the CPU rehearsal's light settings."""
    repeats = "1" if quick else "5"
    training = ["bench", "--training", "--device", args.device, "--train-batch", str(args.batch), "--train-preset",
                args.preset, "--train-size", str(args.image_size), "--repeats", repeats]
    parts = [("training", training),
             ("network", ["bench", "--device", args.device, "--model", str(model), "--steps", "1,4,8,16",
                          "--batch", "1,8" if quick else "1,8,64", "--repeats", repeats] + ([] if quick else ["--tuning"]))]
    if not quick:
        # the background networks' GPU speed and memory: the compact one is committed; x4plus only where its
        # converted file was carried (it is git-ignored, docs/DEVICE.md)
        x4plus = (ROOT / "resources" / "models" / "realesrgan-x4plus.safetensors").is_file()
        parts.append(("upscale", ["bench", "--upscale", "--device", args.device, "--upscale-mp", "1",
                                  "--stand-in-mp", "0", "--upscale-models",
                                  "compact,quality" if x4plus else "compact"]))
    if not quick:
        parts.append(("training variants", training + ["--train-variants"]))
    text = []
    for name, cmd in parts:
        t = time.time()
        try:
            r = subprocess.run([sys.executable, "-m", "engine", *cmd], cwd=ROOT, capture_output=True, text=True,
                               timeout=args.bench_timeout)
            text.append(r.stdout if r.returncode == 0 else f"{name} bench failed ({r.returncode}):\n{r.stderr[-3000:]}")
        except subprocess.TimeoutExpired:
            text.append(f"{name} bench ran past {args.bench_timeout} s")
        print(f"bench {name}: {time.time() - t:.0f} s", flush=True)
    report.write_text("\n\n".join(text) + "\n")


def cmd_bench(args) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bench(ROOT / args.model, args, out / "bench.md")
    print((out / "bench.md").read_text())
    return 0


# -- reassemble (here) -----------------------------------------------------------------------------------
def reassemble(parts_dir: Path, output: Path) -> Path:
    manifest = json.loads((parts_dir / "parts.json").read_text())
    tmp = output.with_name(output.name + ".partial")
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "wb") as f:
        for part in manifest["parts"]:
            block = (parts_dir / part["file"]).read_bytes()
            if hashlib.sha256(block).hexdigest() != part["sha256"]:
                tmp.unlink()
                raise ValueError(f"{part['file']} is damaged (SHA-256 differs from parts.json)")
            f.write(block)
    if sha256_of(tmp) != manifest["sha256"]:
        tmp.unlink()
        raise ValueError(f"the joined {manifest['file']} does not match its SHA-256")
    os.replace(tmp, output)
    return output


def cmd_reassemble(args) -> int:
    from engine.io.checkpoints import load_checkpoint

    path = reassemble(Path(args.parts), Path(args.output))
    model, spec = load_checkpoint(path)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB, "
          f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters, trained on "
          f"{spec.provenance.get('hardware')}, {spec.provenance.get('images_seen')} images)")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--src", default=str(ROOT.parent / "shared/data/utkface-aligned-200/train"))
    p.add_argument("--out", default=PACK)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--quality", type=int, default=90)
    p.add_argument("--shard-mb", type=float, default=12.0)
    p.add_argument("--limit", type=int, default=0)
    p.set_defaults(func=cmd_pack)
    p = sub.add_parser("assets")
    p.add_argument("--out", default=ASSETS)
    p.set_defaults(func=cmd_assets)
    p = sub.add_parser("plan")
    p.add_argument("--pack", default=PACK)
    p.add_argument("--train-args", default="", help="extra arguments for the train command")
    p.set_defaults(func=cmd_plan)
    p = sub.add_parser("stage")
    p.add_argument("--pack", default=PACK)
    p.add_argument("--stage", default=STAGE)
    p.set_defaults(func=cmd_stage)
    p = sub.add_parser("train")
    p.add_argument("--out", required=True, help="where the parts and the log go ($OUT on the device)")
    p.add_argument("--pack", default=PACK)
    p.add_argument("--run", default=RUN)
    p.add_argument("--stage", default=STAGE)
    p.add_argument("--name", default="facebridge-pi2sb-cat-128-gpu.safetensors")
    p.add_argument("--minutes", type=float, default=7.5, help="training wall time; with start-up and export the "
                   "call takes about a minute more, inside the 10-minute limit of one command")
    p.add_argument("--preset", default="gpu")
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--hashing", default="none")  # the ablation's winner (docs/ABLATION.md)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--ema-halflife", type=float, default=0.1)
    p.add_argument("--degradation", default="narrow", help="training range (narrow | wide | mixed)")
    p.add_argument("--data-path", default="", choices=["", "batched", "per-sample"],
                   help="default: batched, or per-sample where the range has old-photo damage")
    p.add_argument("--data-workers", type=int, default=-1,
                   help="per-sample path's worker processes (default: the host's cores less two)")
    p.add_argument("--perceptual", type=float, default=0.0, help="LPIPS-VGG weight (needs the assets call's files)")
    p.add_argument("--perceptual-share", type=float, default=0.5)
    p.add_argument("--perceptual-crop", type=int, default=0)
    p.add_argument("--assets", default=ASSETS)
    p.add_argument("--init", default="", help="continue from this model (same preset): a fresh optimiser, warmed up")
    p.add_argument("--template-model", default="", help="model whose face template to reuse (default: the bundled one)")
    p.add_argument("--default-steps", type=int, default=8)
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--device", default="auto")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--ckpt-every", type=int, default=1000)
    p.add_argument("--bench", nargs="?", const="full", default="", choices=["full", "quick"],
                   help="after the export, run the network and training benchmarks into --out/bench.md")
    p.add_argument("--bench-timeout", type=float, default=100.0, help="seconds for each of the two benchmarks")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("bench", help="the benchmarks alone, for a second call after the training call")
    p.add_argument("--out", required=True)
    p.add_argument("--model", required=True, help="the reassembled model, e.g. resources/models/....safetensors")
    p.add_argument("--device", default="auto")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--preset", default="gpu")
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--bench-timeout", type=float, default=90.0)
    p.set_defaults(func=cmd_bench)
    p = sub.add_parser("reassemble")
    p.add_argument("parts", help="folder holding parts.json and the parts")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_reassemble)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
