"""Train the diffusion renderer (flow-matching DiT) on codec latents of SoundFont renders.

Latents of every item are computed once with the trained codec and cached in
``<out>/latents-<codec sha[:12]>-<split>.safetensors``. Each batch is a random window of one track: its
normalised latents, score features, instrument, style tags and genre; with some probability a prefix and/or
a suffix of the window is given as known neighbour frames (mask channel) and left out of the loss, which
teaches seamless joins. Condition dropout for classifier-free guidance is done by ``FlowDenoiser.loss``.

CPU or CUDA (bf16 autocast), DDP under torchrun, EMA weights, resumable (weights and EMA in safetensors
with the config in the metadata; optimizer state in safetensors + JSON), loss plot PNG.
Outputs: ``<out>/renderer-last.safetensors`` (EMA weights: the checkpoint to ship), ``renderer-raw``,
``renderer-opt.safetensors``, ``renderer-state.json``, ``renderer-loss.png``.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from ..progress import Progress, ProgressCallback
from ..render.denoiser import FlowDenoiser
from ..render.diffusion import file_hash, load_codec, load_dit, save_model
from ..render.dit import DiT, build_dit
from .data_renderer import Item, RendererTrainConfig, load_items
from .train_codec import load_optimizer, lr_at, plot_losses, save_optimizer, setup_distributed


@torch.no_grad()
def encode_items(codec, items: list[Item], device, cache: Path, log=print) -> list[torch.Tensor]:
    """Normalised latents (T_i, D) of every item, cached in ``cache`` (safetensors)."""
    from safetensors.torch import load_file, save_file

    if cache.is_file():
        t = load_file(str(cache))
        if len(t) == len(items):
            return [t[str(i)] for i in range(len(items))]
    out = []
    t0 = time.time()
    for i, it in enumerate(items):
        z = codec.normalize(codec.encode(torch.from_numpy(it.audio)[None].to(device)))[0].float().cpu()  # (T, D)
        out.append(z[: it.feats.shape[0]].contiguous())
    save_file({str(i): z for i, z in enumerate(out)}, str(cache))
    log(f"encoded {len(items)} items to latents in {time.time() - t0:.0f}s -> {cache}")
    return out


def window_batch(items: list[Item], latents: list[torch.Tensor], rng: np.random.Generator, cfg: RendererTrainConfig,
                 device) -> tuple[torch.Tensor, dict, torch.Tensor]:
    """(x0 (B, T, D), cond dict, loss mask (B, T, 1)) of random windows with random known context."""
    B, T = cfg.batch, cfg.frames
    D = latents[0].shape[1]
    x0 = torch.zeros(B, T, D)
    score = torch.zeros(B, T, items[0].feats.shape[1])
    known_mask = torch.zeros(B, T, 1)
    valid = torch.zeros(B, T, 1)
    inst, genre, tags = torch.zeros(B, dtype=torch.long), torch.zeros(B, dtype=torch.long), torch.zeros(B, items[0].tags.size)
    for b in range(B):
        i = int(rng.integers(len(items)))
        it, z = items[i], latents[i]
        n = z.shape[0]
        s = int(rng.integers(0, max(1, n - T + 1)))
        L = min(T, n - s)
        x0[b, :L] = z[s: s + L]
        score[b, :L] = torch.from_numpy(it.feats[s: s + L])
        valid[b, :L] = 1
        if rng.random() < cfg.p_left_context:
            known_mask[b, : int(rng.integers(1, cfg.max_context + 1))] = 1
        if rng.random() < cfg.p_right_context:
            k = int(rng.integers(1, cfg.max_context + 1))
            known_mask[b, max(0, L - k): L] = 1
        inst[b], genre[b], tags[b] = it.instrument, it.genre, torch.from_numpy(it.tags)
    cond = {"score": score, "instrument": inst, "tags": tags, "genre": genre, "known": x0 * known_mask,
            "known_mask": known_mask}
    cond = {k: v.to(device) for k, v in cond.items()}
    return x0.to(device), cond, (valid * (1 - known_mask)).to(device)


def train_renderer(cfg: RendererTrainConfig, log=print, progress: ProgressCallback | None = None) -> Path:
    """Train (or resume) the renderer; returns the path of the latest EMA checkpoint."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    rank, world, device = setup_distributed(cfg.device)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    codec = load_codec(cfg.codec, device)
    tag = file_hash(cfg.codec)[:12]
    train_items, val_items = load_items(cfg.data_dir, "train"), load_items(cfg.data_dir, "val")
    if rank == 0:
        encode_items(codec, train_items, device, out / f"latents-{tag}-train.safetensors", log)
        encode_items(codec, val_items, device, out / f"latents-{tag}-val.safetensors", log)
    if world > 1:
        torch.distributed.barrier()
    train_lat = encode_items(codec, train_items, device, out / f"latents-{tag}-train.safetensors", log)
    val_lat = encode_items(codec, val_items, device, out / f"latents-{tag}-val.safetensors", log)
    del codec

    last, raw = out / "renderer-last.safetensors", out / "renderer-raw.safetensors"
    opt_path, state_path = out / "renderer-opt.safetensors", out / "renderer-state.json"
    torch.manual_seed(cfg.seed)
    resuming = raw.is_file() and last.is_file() and opt_path.is_file() and state_path.is_file()
    if resuming:
        net: DiT = load_dit(raw, device).train()
    elif cfg.init_from:  # fine-tune a trained renderer, e.g. onto the latent of a retrained codec encoder
        net = load_dit(cfg.init_from, device).train()
        if net.cfg.latent_dim != train_lat[0].shape[1]:
            raise ValueError(f"{cfg.init_from} renders {net.cfg.latent_dim}-dim latents, the codec has {train_lat[0].shape[1]}")
        log(f"warm start from {cfg.init_from}")
    else:
        net = build_dit(cfg.preset, train_lat[0].shape[1]).to(device)
    ema = load_dit(last, device) if resuming else copy.deepcopy(net).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    den = FlowDenoiser(net if world == 1 else torch.nn.parallel.DistributedDataParallel(
        net, device_ids=[device.index] if device.type == "cuda" else None))
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=0.01)
    step, history = 0, {"train_fm": [], "val_fm": []}
    if resuming:
        doc = load_optimizer(opt, opt_path, state_path)
        step, history = int(doc["step"]), doc["history"]
        log(f"resumed renderer training at step {step}")
    rng = np.random.default_rng(cfg.seed * 1000 + rank + 31 * step)
    gen = torch.Generator().manual_seed(cfg.seed * 7919 + rank + step)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
    meta = {"codec_sha256": file_hash(cfg.codec)}
    t0, acc, n = time.time(), 0.0, 0
    while step < cfg.steps:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg.lr, cfg.warmup, cfg.steps)
        x0, cond, mask = window_batch(train_items, train_lat, rng, cfg, device)
        with amp:
            loss = den.loss(x0, cond, mask, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            decay = min(cfg.ema, (1 + step) / (10 + step))  # EMA warm-up: short runs are not stuck at init
            for pe, p in zip(ema.parameters(), net.parameters()):
                pe.lerp_(p, 1 - decay)
        step += 1
        acc, n = acc + loss.item(), n + 1
        if progress is not None and rank == 0:
            progress(Progress("train", step, cfg.steps, f"loss {loss.item():.3f}"))
        if rank == 0 and step % cfg.log_every == 0:
            history["train_fm"].append([step, acc / n])
            log(f"renderer step {step} loss {acc / n:.4f} lr {opt.param_groups[0]['lr']:.2e} {(time.time() - t0) / n:.2f}s/step")
            t0, acc, n = time.time(), 0.0, 0
        if rank == 0 and (step % cfg.ckpt_every == 0 or step == cfg.steps):
            val = val_loss(ema, val_items, val_lat, cfg, device)
            history["val_fm"].append([step, val])
            save_model(ema, ema.cfg.to_json(), last, "renderer", {**meta, "step": step, "val_fm": f"{val:.4f}"})
            save_model(net, net.cfg.to_json(), raw, "renderer", {**meta, "step": step})
            save_optimizer(opt, opt_path, state_path, {"step": step, "history": history, "train_config": asdict(cfg)})
            plot_losses(history, out / "renderer-loss.png", "renderer (flow matching)")
            log(f"renderer checkpoint step {step}: val loss (EMA) {val:.4f}")
    if world > 1:
        torch.distributed.destroy_process_group()
    return last


@torch.no_grad()
def val_loss(net: DiT, items, latents, cfg: RendererTrainConfig, device, batches: int = 4) -> float:
    """Flow-matching loss of ``net`` on fixed validation windows and noise (comparable across steps)."""
    den = FlowDenoiser(net, p_uncond=0.0, p_drop_tags=0.0, p_drop_genre=0.0)
    rng, gen = np.random.default_rng(1234), torch.Generator().manual_seed(1234)
    vals = [float(den.loss(*window_batch(items, latents, rng, cfg, device), generator=gen)) for _ in range(batches)]
    return float(np.mean(vals))
