"""Train the audio codec (VAE): multi-resolution STFT loss + KL, on SoundFont renders with production
augmentations. CPU or CUDA (bf16 autocast), torchrun/DDP when WORLD_SIZE > 1, resumable: weights in
``<out>/codec-last.safetensors`` (config in the metadata), optimizer state in
``<out>/codec-opt.safetensors`` + ``<out>/codec-state.json`` (never pickle), loss plot ``<out>/codec-loss.png``.

Also holds the helpers shared with ``train_renderer`` (distributed set-up, optimizer state I/O, plots).
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from ..progress import Progress, ProgressCallback
from ..render.codec import CODEC_PRESETS, AudioCodec, CodecConfig, energy_loss, kl_loss, mel_loss, mrstft_loss
from ..render.diffusion import load_codec, save_model
from ..render.score_features import N_INSTRUMENTS
from .data_renderer import CodecCrops, CodecTrainConfig, audio_crops, build_dataset, crops_with_roll, load_items


# --- shared helpers ----------------------------------------------------------------------------------

def setup_distributed(device_name: str) -> tuple[int, int, torch.device]:
    """(rank, world_size, device). Initialises torch.distributed when WORLD_SIZE > 1 (torchrun)."""
    from ..engine.device import pick_device

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        import torch.distributed as dist

        local = int(os.environ.get("LOCAL_RANK", "0"))
        if torch.cuda.is_available():
            torch.cuda.set_device(local)
            dist.init_process_group("nccl")
            return rank, world, torch.device("cuda", local)
        dist.init_process_group("gloo")
        return rank, world, torch.device("cpu")
    return rank, world, pick_device(device_name)


def save_optimizer(opt: torch.optim.Optimizer, path: str | Path, state_json: str | Path, extra: dict) -> None:
    """Optimizer tensors to safetensors, its structure and ``extra`` (step, history...) to JSON."""
    from safetensors.torch import save_file

    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for pid, st in sd["state"].items():
        for name, v in st.items():
            if torch.is_tensor(v):
                tensors[f"{pid}/{name}"] = v.detach().cpu().contiguous()
            else:
                scalars[f"{pid}/{name}"] = v
    save_file(tensors, str(path) + ".tmp")
    Path(str(path) + ".tmp").replace(path)
    doc = {"param_groups": sd["param_groups"], "scalars": scalars, **extra}
    Path(str(state_json) + ".tmp").write_text(json.dumps(doc))
    Path(str(state_json) + ".tmp").replace(state_json)


def load_optimizer(opt: torch.optim.Optimizer, path: str | Path, state_json: str | Path) -> dict:
    """Restore what ``save_optimizer`` wrote; returns the JSON document (step, history...)."""
    from safetensors.torch import load_file

    doc = json.loads(Path(state_json).read_text())
    tensors = load_file(str(path))
    state: dict[int, dict] = {}
    for key, v in tensors.items():
        pid, name = key.split("/", 1)
        state.setdefault(int(pid), {})[name] = v
    for key, v in doc["scalars"].items():
        pid, name = key.split("/", 1)
        state.setdefault(int(pid), {})[name] = v
    opt.load_state_dict({"state": state, "param_groups": doc["param_groups"]})
    return doc


def plot_losses(history: dict[str, list[list[float]]], path: str | Path, title: str) -> None:
    """PNG of each loss curve (history: name -> [[step, value], ...]), log y axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, pts in history.items():
        if pts:
            a = np.array(pts)
            ax.plot(a[:, 0], a[:, 1], label=name)
    ax.set_xlabel("step")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def lr_at(step: int, base: float, warmup: int, total: int) -> float:
    """Linear warm-up then cosine decay to 10 % of ``base``."""
    if step < warmup:
        return base * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


# --- codec training --------------------------------------------------------------------------------

@torch.no_grad()
def latent_stats(codec: AudioCodec, items, device, n: int = 32, seconds: float = 2.0) -> tuple[float, float]:
    """Mean and std of the posterior means over ``n`` random crops (for latent normalisation)."""
    rng = np.random.default_rng(123)
    crops = torch.from_numpy(audio_crops(items, rng, n, int(seconds * codec.cfg.sample_rate))).to(device)
    z = torch.cat([codec.encode(c[None]) for c in crops])
    return float(z.mean()), float(z.std().clamp_min(1e-3))


@torch.no_grad()
def codec_val_loss(codec: AudioCodec, items, device, n: int = 16) -> float:
    rng = np.random.default_rng(7)
    x, roll, instrument, tags = (torch.from_numpy(a).to(device)
                                 for a in crops_with_roll(items, rng, n, codec.cfg.sample_rate, codec.cfg.latent_hop))
    return float(mrstft_loss(codec.decode(codec.encode(x), roll, instrument, tags), x))


def param_groups(model: AudioCodec, condition_lr_scale: float) -> list[dict]:
    """The trainable parameters for the optimizer, the decoder's condition embeddings in a group of their own
    whose learning rate is scaled: an instrument's row only learns from the crops of that instrument."""
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    cond = [p for n, p in trainable if n.startswith("decoder.conditions.")]
    groups = [{"params": [p for n, p in trainable if not n.startswith("decoder.conditions.")], "lr_scale": 1.0}]
    return groups + ([{"params": cond, "lr_scale": condition_lr_scale}] if cond else [])


def dropped_conditions(crops: CodecCrops, rng: np.random.Generator, p: float) -> CodecCrops:
    """``crops`` with the conditions of a random share ``p`` of them replaced by "not known" (instrument index
    ``N_INSTRUMENTS``, no tags), so that a conditioned decoder also decodes a latent whose track it is not told."""
    drop = rng.random(crops.instrument.shape[0]) < p
    return crops._replace(instrument=np.where(drop, N_INSTRUMENTS, crops.instrument),
                          tags=np.where(drop[:, None], 0.0, crops.tags).astype(np.float32))


def ensure_data(cfg, log=print) -> None:
    """Build the renderer data set in ``cfg.data_dir`` when a split is missing."""
    for split, n in (("train", cfg.train_songs), ("val", cfg.val_songs)):
        if not list((Path(cfg.data_dir) / split).glob("shard-*.safetensors")):
            build_dataset(cfg.data_dir, split, n, seed=cfg.seed, log=log)


@torch.no_grad()
def warm_start(model: AudioCodec, state: dict[str, torch.Tensor]) -> list[str]:
    """Copy ``state`` (a codec's weights) into ``model``, which may have a larger latent: the two layers that
    touch the latent get the old weights on their overlap (encoder mean and log-variance rows, decoder input
    channels); the decoder's weights for the new latent channels are zero, so the widened codec starts out
    reconstructing exactly like the old one and learns to use the new channels. The harmonic amplitude heads
    may grow too (more harmonics per note): the old harmonics keep their rows, the new ones start quiet. Extra
    decoder blocks (a deeper decoder) start as the identity (their layer scale is zero). Returns the skipped names."""
    D, own = model.cfg.latent_dim, model.state_dict()
    skipped = []
    for name, src in state.items():
        dst = own.get(name)
        if dst is None:
            skipped.append(name)
        elif dst.shape == src.shape:
            dst.copy_(src)
        elif name.startswith("encoder.out."):  # rows: D mean rows, then D log-variance rows
            d = src.shape[0] // 2
            dst[:d], dst[D: D + d] = src[:d], src[d:]
            if name.endswith("bias"):
                dst[D + d:] = -4.0  # new channels start near-deterministic (small posterior variance)
        elif name.startswith(("decoder.harm_head.", "decoder.tail_head.")):  # rows per harmonic: copy the overlap
            harm = name.startswith("decoder.harm_head.")
            k_old, k_new = (src.shape[0] // 2, dst.shape[0] // 2) if harm else (src.shape[0], dst.shape[0])
            k = min(k_old, k_new)
            dst.zero_()
            if name.endswith("bias"):
                dst[:k_new] = -6.0  # the new harmonics start quiet (slopes start at 0)
            dst[:k] = src[:k]  # log amplitudes
            if harm:
                dst[k_new: k_new + k] = src[k_old: k_old + k]  # register slopes
        elif name == "decoder.inp.weight":  # (dec_dim, latent, kernel)
            dst.zero_()
            dst[:, : src.shape[1]] = src
        else:
            skipped.append(name)
    for name, dst in own.items():  # residual blocks the source does not have start as the identity
        if name not in state and name.endswith(".gamma"):
            dst.zero_()
    return skipped


def train_codec(cfg: CodecTrainConfig, log=print, progress: ProgressCallback | None = None) -> Path:
    """Train (or resume) the codec; returns the path of the latest checkpoint."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    rank, world, device = setup_distributed(cfg.device)
    out = Path(cfg.out_dir)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        ensure_data(cfg, log)
    if world > 1:
        torch.distributed.barrier()
    train_items, val_items = load_items(cfg.data_dir, "train"), load_items(cfg.data_dir, "val")
    last, opt_path, state_path = out / "codec-last.safetensors", out / "codec-opt.safetensors", out / "codec-state.json"
    torch.manual_seed(cfg.seed)
    if last.is_file():
        model = load_codec(last, device).train()
    else:
        preset = CODEC_PRESETS[cfg.preset]
        model = AudioCodec(replace(preset, latent_dim=cfg.latent_dim or preset.latent_dim,
                                   phase_mode=cfg.phase_mode or preset.phase_mode,
                                   harmonics=preset.harmonics if cfg.harmonics < 0 else cfg.harmonics,
                                   harmonic_tail=preset.harmonic_tail if cfg.harmonic_tail < 0 else cfg.harmonic_tail,
                                   dec_blocks=cfg.dec_blocks or preset.dec_blocks,
                                   dec_high_blocks=cfg.dec_high_blocks or preset.dec_high_blocks,
                                   conditioned=cfg.conditioned or preset.conditioned,
                                   )).to(device)
        if cfg.init_from:
            src = load_codec(cfg.init_from, "cpu")
            skipped = warm_start(model, src.state_dict())
            if src.cfg.phase_mode != model.cfg.phase_mode:  # the phase rows of the head mean something else now
                bins = model.cfg.n_fft // 2 + 1
                with torch.no_grad():
                    model.decoder.head.weight[bins:].zero_()
                    model.decoder.head.bias[bins:].zero_()
            log(f"warm start from {cfg.init_from}" + (f" (not copied: {', '.join(skipped)})" if skipped else ""))
    codec_cfg: CodecConfig = model.cfg
    if cfg.freeze_encoder and cfg.freeze_decoder:
        raise ValueError("freeze_encoder and freeze_decoder together leave nothing to train")
    if cfg.freeze_encoder:
        model.encoder.requires_grad_(False)
        log("encoder frozen: training the decoder only")
    if cfg.freeze_decoder:
        model.decoder.requires_grad_(False)
        log("decoder frozen: training the encoder only (a renderer must be retrained on the new latent)")
    opt = torch.optim.AdamW(param_groups(model, cfg.condition_lr_scale), lr=cfg.lr, betas=(0.8, 0.99),
                            weight_decay=1e-4)
    step, history = 0, {"train_mrstft": [], "train_kl": [], "val_mrstft": []}
    if last.is_file() and opt_path.is_file() and state_path.is_file():
        doc = load_optimizer(opt, opt_path, state_path)
        step, history = int(doc["step"]), doc["history"]
        log(f"resumed codec training at step {step}")
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    rng = np.random.default_rng(cfg.seed * 1000 + rank + 17 * step)
    samples = int(cfg.crop_seconds * codec_cfg.sample_rate) // codec_cfg.latent_hop * codec_cfg.latent_hop
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
    t0, acc = time.time(), [0.0, 0.0, 0, 0.0]
    while step < cfg.steps:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg.lr, cfg.warmup, cfg.steps) * g.get("lr_scale", 1.0)  # runs saved before: none
        crops = crops_with_roll(train_items, rng, cfg.batch, samples, codec_cfg.latent_hop)
        crops = dropped_conditions(crops, rng, cfg.condition_dropout)
        x, roll, instrument, tags = (torch.from_numpy(a).to(device) for a in crops)
        x = x * torch.from_numpy(rng.uniform(0.3, 1.2, (cfg.batch, 1)).astype(np.float32)).to(device)  # gain jitter
        with amp:
            recon, mean, logvar = net(x, roll=roll, instrument=instrument, tags=tags)
        rec, kl = mrstft_loss(recon.float(), x), kl_loss(mean.float(), logvar.float())
        mel = mel_loss(recon.float(), x, codec_cfg.sample_rate, scale=cfg.mel_scale)
        loss = rec + cfg.mel_weight * mel + cfg.kl_weight * kl
        if cfg.energy_weight:
            loss = loss + cfg.energy_weight * energy_loss(recon.float(), x, codec_cfg.sample_rate)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if progress is not None and rank == 0:
            progress(Progress("train", step, cfg.steps, f"mrstft {rec.item():.3f}"))
        acc[0] += rec.item()
        acc[1] += kl.item()
        acc[2] += 1
        acc[3] += mel.item()
        if rank == 0 and step % cfg.log_every == 0:
            history["train_mrstft"].append([step, acc[0] / acc[2]])
            history["train_kl"].append([step, acc[1] / acc[2]])
            history.setdefault("train_mel", []).append([step, acc[3] / acc[2]])
            log(f"codec step {step} mrstft {acc[0] / acc[2]:.4f} mel {acc[3] / acc[2]:.4f} kl {acc[1] / acc[2]:.3f} "
                f"lr {opt.param_groups[0]['lr']:.2e} {(time.time() - t0) / acc[2]:.2f}s/step")
            t0, acc = time.time(), [0.0, 0.0, 0, 0.0]
        if rank == 0 and (step % cfg.ckpt_every == 0 or step == cfg.steps):
            model.eval()
            val = codec_val_loss(model, val_items, device)
            history["val_mrstft"].append([step, val])
            codec_cfg.latent_mean, codec_cfg.latent_std = latent_stats(model, train_items, device)
            model.train()
            save_model(model, codec_cfg.to_json(), last, "codec", {"step": step, "val_mrstft": f"{val:.4f}"})
            save_optimizer(opt, opt_path, state_path, {"step": step, "history": history, "train_config": asdict(cfg)})
            plot_losses(history, out / "codec-loss.png", "codec")
            log(f"codec checkpoint step {step}: val mrstft {val:.4f}, latent mean {codec_cfg.latent_mean:.3f} "
                f"std {codec_cfg.latent_std:.3f}")
    if world > 1:
        torch.distributed.destroy_process_group()
    return last
