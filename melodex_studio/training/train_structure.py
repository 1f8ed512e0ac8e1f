"""Training loop of the structure model (`melodex train structure`).

Data: songs from ``training.data_structure`` (``iter_songs(data_dir, split)`` -> (Song, plan dict)) and/or
MIDI files (``--midi-dir``, read with ``io.midi.import_midi``), tokenised by ``structure.tokens``. A training
example is a window that starts at a bar: header + the bar's section header + up to ``block_size`` tokens
from that bar on (exactly the windows the sampler rebuilds its cache from). Loss: next-token cross entropy
on everything after the header/section prefix.

CPU or CUDA (bf16 autocast when supported, else fp16 with a grad scaler), DistributedDataParallel when
``WORLD_SIZE`` > 1 (torchrun), resumable: weights, optimizer tensors (safetensors) and a JSON step counter
in ``run_dir``; never pickle. Writes a loss plot (PNG) and the best-validation model to ``out`` (fp16).
"""
from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..progress import Progress, ProgressCallback
from ..structure import tokens as T
from ..structure.checkpoint import load_checkpoint, save_checkpoint
from ..structure.transformer import PRESETS, StructureConfig, build_model


@dataclass
class StructureTrainConfig:
    preset: str = "small"
    steps: int = 3000
    batch_size: int = 16
    lr: float = 1e-3
    warmup: int = 100
    weight_decay: float = 0.05
    data: str = "runs/data-structure"
    midi_dir: str = ""
    out: str = "models/structure-small.safetensors"
    run_dir: str = ""  # default: runs/structure-<preset>
    resume: bool = False
    device: str = "auto"
    eval_every: int = 100
    val_windows: int = 32
    seed: int = 0
    threads: int = 0  # CPU threads (0 = torch default)
    max_songs: int = 0  # 0 = all


# --- data ------------------------------------------------------------------------------------------------
@dataclass
class TokenSong:
    tokens: np.ndarray  # (N,) int16 token ids
    header_len: int
    bars: np.ndarray  # (n_bars,) index of each BAR token
    sec_hdr: list[list[int]]  # section header tokens of each bar


def tokenize_song(song, plan: dict | None = None) -> TokenSong:
    """Encode one Song (its plan dict gives genre, mood, energies) into a TokenSong."""
    if plan and not song.plan:
        song.plan = dict(plan)
    h = T.header_from_song(song)
    toks = T.encode(song, h)
    hl = len(T.header_tokens(h))
    bars, sec_hdr, cur = [], [], []
    for i, tok in enumerate(toks):
        if T.SEC0 <= tok < T.SEC0 + len(T.LABELS):
            cur = toks[i:i + T.SECTION_HEADER_LEN]
        elif T.BAR0 <= tok < T.BAR0 + T.MAX_SECTION_BARS:
            bars.append(i)
            sec_hdr.append(cur)
    return TokenSong(np.asarray(toks, dtype=np.int16), hl, np.asarray(bars, dtype=np.int64), sec_hdr)


def load_split(cfg: StructureTrainConfig, split: str, log: Callable[[str], None] = print) -> list[TokenSong]:
    """Tokenise the ``split`` of the structure dataset (+ MIDI files for 'train')."""
    out: list[TokenSong] = []
    if cfg.data and Path(cfg.data).exists():
        from .data_structure import iter_songs

        for song, plan in iter_songs(cfg.data, split):
            try:
                out.append(tokenize_song(song, plan))
            except (ValueError, KeyError) as e:
                log(f"skip a {split} song: {e}")
            if cfg.max_songs and len(out) >= cfg.max_songs:
                break
    if cfg.midi_dir and split == "train":
        from ..io.midi import import_midi

        for p in sorted(Path(cfg.midi_dir).rglob("*.mid*")):
            try:
                out.append(tokenize_song(import_midi(p)))
            except Exception as e:  # a user's MIDI folder can hold anything
                log(f"skip {p.name}: {e}")
    return out


def make_window(s: TokenSong, bar_idx: int, block: int) -> list[int]:
    """header + section header + tokens from bar ``bar_idx`` on, at most block + 1 tokens; the prefix length
    is returned as the first element's count via ``prefix_len``."""
    j = int(s.bars[bar_idx]) if len(s.bars) else s.header_len
    sec = s.sec_hdr[bar_idx] if len(s.bars) else []
    hdr = s.tokens[:s.header_len].tolist()
    if s.tokens[j - len(sec):j].tolist() == sec:
        j -= len(sec)
        prefix = hdr
    else:
        prefix = hdr + sec
    return prefix + s.tokens[j:j + block + 1 - len(prefix)].tolist(), len(prefix)


def batch(songs: list[TokenSong], n: int, block: int, rng: random.Random) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y), each (n, block) int64; y = -1 where no loss (prefix, padding)."""
    weights = [max(1, len(s.bars)) for s in songs]
    x = torch.full((n, block), T.tid("PAD"), dtype=torch.long)
    y = torch.full((n, block), -1, dtype=torch.long)
    for i in range(n):
        s = rng.choices(songs, weights)[0]
        w, pl = make_window(s, rng.randrange(max(1, len(s.bars))), block)
        t = torch.tensor(w, dtype=torch.long)
        L = len(t) - 1
        x[i, :L] = t[:-1]
        y[i, :L] = t[1:]
        y[i, :pl - 1] = -1  # predictions of prefix tokens are forced at sampling time
    return x, y


# --- helpers --------------------------------------------------------------------------------------------------
def lr_at(step: int, base: float, warmup: int, total: int) -> float:
    """Linear warm-up then cosine decay to 10 % of ``base``."""
    if step < warmup:
        return base * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


def save_optimizer(opt: torch.optim.Optimizer, path: Path, doc: dict) -> None:
    """Optimizer tensors -> ``path`` (safetensors); param groups, scalars and ``doc`` -> ``path``.json."""
    from safetensors.torch import save_file

    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"{pid}/{k}"] = v.detach().cpu().contiguous()
            else:
                scalars[f"{pid}/{k}"] = v
    save_file(tensors, str(path) + ".tmp")
    os.replace(str(path) + ".tmp", path)
    js = Path(str(path) + ".json")
    js.with_suffix(".tmp").write_text(json.dumps({"param_groups": sd["param_groups"], "scalars": scalars, **doc}))
    os.replace(js.with_suffix(".tmp"), js)


def load_optimizer(opt: torch.optim.Optimizer, path: Path) -> dict:
    from safetensors.torch import load_file

    doc = json.loads(Path(str(path) + ".json").read_text())
    state: dict[int, dict] = {}
    for key, v in load_file(str(path)).items():
        pid, k = key.split("/", 1)
        state.setdefault(int(pid), {})[k] = v
    for key, v in doc["scalars"].items():
        pid, k = key.split("/", 1)
        state.setdefault(int(pid), {})[k] = v
    opt.load_state_dict({"state": state, "param_groups": doc["param_groups"]})
    return doc


def plot_losses(history: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, pts in history.items():
        if pts:
            a = np.asarray(pts)
            ax.plot(a[:, 0], a[:, 1], label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("cross entropy (nats/token)")
    ax.set_title("structure model")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


@torch.no_grad()
def evaluate(model, windows: list[tuple[torch.Tensor, torch.Tensor]], device) -> float:
    """Mean next-token NLL (nats) over the fixed validation windows."""
    model.eval()
    tot, cnt = 0.0, 0
    for x, y in windows:
        logits = model(x.to(device))  # (B, T, V)
        loss = F.cross_entropy(logits.float().flatten(0, 1), y.to(device).flatten(), ignore_index=-1, reduction="sum")
        tot += float(loss)
        cnt += int((y >= 0).sum())
    model.train()
    return tot / max(cnt, 1)


# --- the loop ------------------------------------------------------------------------------------------------
def train_structure(cfg: StructureTrainConfig, log: Callable[[str], None] = print,
                    progress: ProgressCallback | None = None) -> Path:
    """Train (or resume) a structure model; returns the path of the best checkpoint (``cfg.out``)."""
    from ..engine.device import pick_device

    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    if world > 1:
        import torch.distributed as dist

        local = int(os.environ.get("LOCAL_RANK", "0"))
        if torch.cuda.is_available():
            torch.cuda.set_device(local)
            device = torch.device("cuda", local)
        else:
            device = torch.device("cpu")
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    else:
        device = pick_device(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.preset not in PRESETS:
        raise ValueError(f"unknown preset {cfg.preset!r}")
    run_dir = Path(cfg.run_dir or f"runs/structure-{cfg.preset}")
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed + rank)
    rng = random.Random(cfg.seed * 1000 + rank)

    t0 = time.time()
    train, val = load_split(cfg, "train", log), load_split(cfg, "val", log)
    if not train:
        raise ValueError(f"no training songs in {cfg.data!r} / {cfg.midi_dir!r}; build the dataset first")
    val = val or train[: max(1, len(train) // 20)]
    ntok = sum(len(s.tokens) for s in train)
    log(f"data: {len(train)} train songs ({ntok} tokens), {len(val)} val songs, tokenised in {time.time() - t0:.1f}s")

    model_cfg = StructureConfig(vocab_size=T.VOCAB_SIZE, **PRESETS[cfg.preset])
    model = build_model(model_cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=cfg.weight_decay,
                            fused=device.type == "cuda")
    state = {"step": 0, "best_val": float("inf"), "history": {"train": [], "val": []}}
    ckpt, optf = run_dir / "last.safetensors", run_dir / "optimizer.safetensors"
    if cfg.resume and ckpt.exists() and optf.exists():
        loaded, _ = load_checkpoint(ckpt, device)
        model.load_state_dict(loaded.state_dict())
        doc = load_optimizer(opt, optf)
        state.update({k: doc[k] for k in ("step", "best_val", "history") if k in doc})
        log(f"resumed at step {state['step']}")
    raw = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        model = DDP(model, device_ids=[device.index] if device.type == "cuda" else None)
    use_amp = device.type == "cuda"
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    vrng = random.Random(1234)
    block = model_cfg.block_size
    val_windows = [batch(val, 8, block, vrng) for _ in range(max(1, cfg.val_windows // 8))]
    summary = {"train_songs": len(train), "train_tokens": ntok, "val_songs": len(val), "preset": cfg.preset}

    model.train()
    t_last, tok_count = time.time(), 0
    while state["step"] < cfg.steps:
        step = state["step"]
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg.lr, cfg.warmup, cfg.steps)
        x, y = batch(train, cfg.batch_size, block, rng)
        x, y = x.to(device), y.to(device)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
            logits = model(x)  # (B, T, V)
        loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), ignore_index=-1)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        state["step"] = step = step + 1
        tok_count += int((y >= 0).sum())
        if progress is not None and rank == 0:
            progress(Progress("train", step, cfg.steps, f"loss {loss.item():.3f}"))
        if step % 10 == 0:
            state["history"]["train"].append([step, loss.item()])
        if rank == 0 and (step % cfg.eval_every == 0 or step == cfg.steps):
            v = evaluate(raw, val_windows, device)
            state["history"]["val"].append([step, v])
            dt = time.time() - t_last
            log(f"step {step}/{cfg.steps} train {loss.item():.4f} val {v:.4f} lr {opt.param_groups[0]['lr']:.2e} "
                f"{tok_count / dt:.0f} tok/s")
            t_last, tok_count = time.time(), 0
            extra = {**summary, "step": step, "train_loss": loss.item(), "val_loss": v, "config": asdict(cfg)}
            save_checkpoint(raw, ckpt, extra)
            if v < state["best_val"]:
                state["best_val"] = v
                save_checkpoint(raw, cfg.out, extra, dtype=torch.float16)
            save_optimizer(opt, optf, {k: state[k] for k in ("step", "best_val", "history")})
            plot_losses(state["history"], run_dir / "loss.png")
            (run_dir / "state.json").write_text(json.dumps({k: state[k] for k in ("step", "best_val")}))
    if world > 1:
        import torch.distributed as dist

        dist.destroy_process_group()
    return Path(cfg.out)
