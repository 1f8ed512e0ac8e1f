"""The diffusion renderer (score ─► latent ─► stem audio) and the loaders of its checkpoints (safetensors,
config JSON in the metadata).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import ModelError
from ..io.hashing import file_hash  # noqa: F401 (the one implementation; re-exported)
from .denoiser import FlowDenoiser
from .sampling import DEFAULT_SAMPLER, DEFAULT_STEPS, SAMPLERS, flow_schedule
from .score_features import (RenderConditions, encode_conditions, instrument_index, pitch_roll, score_features,
                             section_frames, tag_vector)


DECODE_CHUNK_FRAMES = 768  # latent frames decoded at a time (30.7 s, 0.15 s on 2 CPU cores; ``decode_track``)


def save_model(model: torch.nn.Module, config_json: str, path: str | Path, kind: str, extra: dict | None = None,
               dtype: torch.dtype | None = None) -> None:
    """Write ``model``'s weights to ``path`` with metadata {'kind', 'config' (JSON), ...extra}."""
    from safetensors.torch import save_file

    sd = {k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v).detach().cpu().contiguous()
          for k, v in model.state_dict().items()}
    meta = {"kind": kind, "config": config_json, **{k: str(v) for k, v in (extra or {}).items()}}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(path) + ".tmp")
    save_file(sd, str(tmp), metadata=meta)
    tmp.replace(path)


def read_checkpoint(path: str | Path, kind: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(state dict, metadata) of a checkpoint of ``kind`` ('codec' or 'renderer'); ModelError when unusable."""
    from safetensors import safe_open

    p = Path(path)
    if not p.is_file():
        raise ModelError(f"model file {p} does not exist; train one or point the studio at another checkpoint")
    try:
        with safe_open(str(p), framework="pt") as f:
            meta = f.metadata() or {}
            sd = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises several error types for corrupt files
        raise ModelError(f"model file {p} is not a readable safetensors checkpoint ({e})") from e
    if meta.get("kind") != kind or "config" not in meta:
        raise ModelError(f"model file {p} is not a {kind} checkpoint (kind {meta.get('kind')!r})")
    return sd, meta


# --- loading: a checkpoint's config is checked before any model is built -----------------------------
# Hyper-parameters a checkpoint's config may hold: name -> (type, low, high) or a tuple of the allowed values.
# The ranges lie far beyond any model of this project; they keep a tampered config from dividing by zero,
# building a model of terabytes or rendering silence. Fields left out of a config take their defaults.
CODEC_FIELDS: dict[str, tuple] = {
    "sample_rate": (int, 8_000, 192_000), "n_fft": (int, 16, 16_384), "hop_length": (int, 1, 16_384),
    "downsample": (int, 1, 64), "latent_dim": (int, 1, 1024), "enc_dim": (int, 1, 8192), "enc_blocks": (int, 0, 64),
    "dec_dim": (int, 1, 8192), "dec_blocks": (int, 0, 64), "dec_high_dim": (int, 1, 8192),
    "dec_high_blocks": (int, 0, 64), "mag_max_log": (float, 1.0, 20.0), "phase_mode": ("direct", "integrate"),
    "harmonics": (int, 0, 256), "harmonic_tail": (float, 0.0, 60.0), "conditioned": (bool,),
    "latent_mean": (float, -100.0, 100.0), "latent_std": (float, 1e-3, 1e3),
}
DIT_FIELDS: dict[str, tuple] = {
    "latent_dim": (int, 1, 1024), "feature_dim": (int, 1, 65_536), "dim": (int, 2, 8192), "depth": (int, 1, 64),
    "heads": (int, 1, 64), "mlp_ratio": (float, 0.25, 16.0), "patch": (int, 1, 64),
    "n_instruments": (int, 1, 65_536), "n_tags": (int, 1, 65_536), "n_genres": (int, 1, 65_536),
    "time_freqs": (int, 2, 4096), "rope_base": (float, 2.0, 1e7),
}


def check_config(text: str, fields: dict[str, tuple], where: str) -> dict:
    """The config JSON ``text`` of a checkpoint as a dict, after checking the type and range of every field named
    in ``fields`` (see ``CODEC_FIELDS``); ``ModelError`` naming ``where`` and the field otherwise."""
    try:
        d = json.loads(text)
    except (ValueError, RecursionError, TypeError) as e:
        raise ModelError(f"{where}: its config is not valid JSON ({e})") from None
    if not isinstance(d, dict):
        raise ModelError(f"{where}: its config is not a JSON object")
    for name, rule in fields.items():
        if name not in d:
            continue
        v = d[name]
        if rule[0] is bool:
            ok = type(v) is bool
        elif rule[0] is int:
            ok = type(v) is int and rule[1] <= v <= rule[2]
        elif rule[0] is float:
            ok = type(v) in (int, float) and math.isfinite(v) and rule[1] <= v <= rule[2]
        else:
            ok = isinstance(v, str) and v in rule
        if not ok:
            allowed = ("true or false" if rule[0] is bool else " or ".join(map(repr, rule)) if isinstance(rule[0], str)
                       else f"{'a whole number' if rule[0] is int else 'a number'} in {rule[1]:g}..{rule[2]:g}")
            raise ModelError(f"{where}: config field {name!r} is {v!r}; it must be {allowed} (a damaged or tampered "
                             f"checkpoint)")
    return d


class _ParamsOnMeta(torch.overrides.TorchFunctionMode):
    """Inside it, ``torch.empty`` (which every ``nn`` layer uses for its weights) makes 'meta' tensors, with shapes
    and no memory, and in-place initialisers of meta tensors do nothing: a model of any size is built in
    milliseconds to read its state dict's shapes. (The 'meta' device context would also do, but its Python
    reference ops import torch._dynamo, 2-3 s, on first use.) Buffers computed in ``__init__`` stay real; the
    config's ranges bound them."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.empty:
            return func(*args, **{**kwargs, "device": "meta"})
        name = getattr(func, "__name__", "")
        if name.endswith("_") and not name.endswith("__"):
            target = args[0] if args else kwargs.get("tensor", kwargs.get("self"))
            if isinstance(target, torch.Tensor) and target.is_meta:
                return target
        return func(*args, **kwargs)


def load_weights(path: str | Path, kind: str, fields: dict[str, tuple], build, check=None,
                 format_key: str = "kind", skip: frozenset[str] = frozenset()):
    """(model, config dict, metadata) of the checkpoint at ``path``: its metadata's ``format_key`` must be ``kind``;
    its config passes ``check_config(fields)`` and ``check(config dict)`` (cross-field rules; returns a problem or
    None); ``build(config dict)`` makes the model, first on the 'meta' device (no memory) to compare every tensor
    name and shape with the file's header (``_ParamsOnMeta``), then for real. Tensors must be floating point and finite; names in
    ``skip`` are not stored (tied weights). ``ModelError`` for every problem, before the model is allocated."""
    from safetensors import safe_open

    p = Path(path)
    if not p.is_file():
        raise ModelError(f"model file {p} does not exist; train one or point the studio at another checkpoint")
    where = f"model file {p}"
    try:
        f = safe_open(str(p), framework="pt")
    except Exception as e:  # safetensors raises several error types for corrupt files
        raise ModelError(f"{where} is not a readable safetensors checkpoint ({e})") from e
    with f:
        meta = f.metadata() or {}
        if meta.get(format_key) != kind or "config" not in meta:
            raise ModelError(f"{where} is not a {kind} checkpoint ({format_key} {meta.get(format_key)!r})")
        cfg = check_config(meta["config"], fields, where)
        problem = check(cfg) if check else None
        if problem:
            raise ModelError(f"{where}: its config does not describe a model ({problem})")
        try:
            with _ParamsOnMeta():
                skeleton = build(cfg)
        except (TypeError, ValueError, RuntimeError, AssertionError, ZeroDivisionError) as e:
            raise ModelError(f"{where}: its config does not describe a model ({e})") from e
        expected = {k: tuple(v.shape) for k, v in skeleton.state_dict().items() if k not in skip}
        try:
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
        except Exception as e:
            raise ModelError(f"{where} is not a readable safetensors checkpoint ({e})") from e
        if set(shapes) != set(expected):
            missing, unexpected = sorted(set(expected) - set(shapes)), sorted(set(shapes) - set(expected))
            raise ModelError(f"{where} does not match its own config: missing tensors {missing[:3]}, unexpected "
                             f"{unexpected[:3]}")
        for k, shape in shapes.items():
            if shape != expected[k]:
                raise ModelError(f"{where} does not match its own config: tensor {k} has shape {shape}, the config "
                                 f"makes {expected[k]}")
        sd = {}
        for k in shapes:
            try:
                t = f.get_tensor(k)
            except Exception as e:
                raise ModelError(f"{where} is damaged: tensor {k} cannot be read ({e})") from e
            if not t.is_floating_point():
                raise ModelError(f"{where}: tensor {k} holds {t.dtype}, not floating point weights")
            t = t.float()
            if not math.isfinite(float(t.sum())) and not bool(torch.isfinite(t).all()):  # cheap sum first
                raise ModelError(f"{where}: tensor {k} holds NaN or infinite values")
            sd[k] = t
    model = build(cfg)
    try:
        model.load_state_dict(sd, strict=not skip)
    except RuntimeError as e:
        raise ModelError(f"{where} does not match its own config ({e})") from e
    return model, cfg, meta


def _codec_problem(cfg: dict) -> str | None:
    from .codec import CodecConfig

    c = CodecConfig(**{k: v for k, v in cfg.items() if k in CODEC_FIELDS})
    if c.hop_length > c.n_fft:
        return f"hop_length {c.hop_length} is longer than n_fft {c.n_fft}"
    return None


def _dit_problem(cfg: dict) -> str | None:
    from .dit import DiTConfig
    from .score_features import FEATURE_DIM, GENRES, N_INSTRUMENTS, STYLE_TAGS

    c = DiTConfig(**{k: v for k, v in cfg.items() if k in DIT_FIELDS})
    if c.dim % c.heads or (c.dim // c.heads) % 2:
        return f"dim {c.dim} does not split into {c.heads} heads of an even size"
    if c.time_freqs % 2:
        return f"time_freqs {c.time_freqs} is odd"
    for name, have, want in (("feature_dim", c.feature_dim, FEATURE_DIM), ("n_instruments", c.n_instruments, N_INSTRUMENTS),
                             ("n_tags", c.n_tags, len(STYLE_TAGS)), ("n_genres", c.n_genres, len(GENRES) + 1)):
        if have != want:
            return f"{name} is {have}; this version's score conditions have {want}"
    return None


def load_codec(path: str | Path, device: torch.device | str = "cpu"):
    """Rebuild an ``AudioCodec`` from its checkpoint (config from the metadata, checked against
    ``CODEC_FIELDS`` and the file's tensors before it is built), in eval mode. ``ModelError`` when unusable."""
    from .codec import AudioCodec, CodecConfig

    model, _, _ = load_weights(path, "codec", CODEC_FIELDS, lambda d: AudioCodec(CodecConfig.from_json(json.dumps(d))),
                               _codec_problem)
    return model.to(device).eval()


def load_dit(path: str | Path, device: torch.device | str = "cpu"):
    """Rebuild a ``DiT`` from its checkpoint (config checked against ``DIT_FIELDS``, this version's score
    conditions and the file's tensors before it is built), in eval mode. ``ModelError`` when unusable."""
    from .dit import DiT, DiTConfig

    model, _, _ = load_weights(path, "renderer", DIT_FIELDS, lambda d: DiT(DiTConfig.from_json(json.dumps(d))),
                               _dit_problem)
    return model.to(device).eval()


# --- the renderer -------------------------------------------------------------------------------------

CHECKPOINT_DTYPE = torch.float16  # recorded sampler states (``_to_checkpoint``) and the final latent (``_run``)
CONTEXT_SECONDS = 1.0  # known neighbour latents on each side of a rendered section


@dataclass
class RenderSettings:
    """How to sample: steps, sampler name, CFG weight, schedule shift, seed and the steps to record."""

    steps: int = DEFAULT_STEPS
    sampler: str = DEFAULT_SAMPLER
    guidance: float = 2.0
    guidance_interval: tuple[float, float] = (0.3, 0.9)  # CFG only for t in (lo, hi]; (0, 1) = every step
    shift: float = 1.0
    seed: int = 0
    record_steps: tuple[int, ...] | None = None  # schedule indices to keep; None = every step


@dataclass
class LatentRender:
    """The result of one sampling run over song-grid frames [frame_start, frame_start + T).

    ``latent`` (T, D) is the final normalised latent; ``checkpoints`` maps a schedule index k to
    (x_k, denoised_k) (each (T, D), on the CPU); ``schedule`` (steps + 1,) the times; ``seed`` the noise seed.
    """

    latent: torch.Tensor
    frame_start: int
    schedule: torch.Tensor
    seed: int
    settings: RenderSettings
    checkpoints: dict[int, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)


def render_to_state(render: LatentRender, prefix: str) -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors (for the project's state.safetensors, names under ``prefix``) and JSON metadata of a render."""
    latent = render.latent.contiguous()
    low = latent.to(CHECKPOINT_DTYPE)
    if torch.equal(low.float(), latent):  # a sampled latent is on the float16 grid (``_run``): stored as float16
        latent = low
    tensors = {f"{prefix}/latent": latent, f"{prefix}/schedule": render.schedule.contiguous()}
    for k, (x, d) in render.checkpoints.items():
        tensors[f"{prefix}/x/{k}"] = x.contiguous()
        tensors[f"{prefix}/denoised/{k}"] = d.contiguous()
    s = render.settings
    meta = {"frame_start": render.frame_start, "seed": render.seed, "steps_recorded": sorted(render.checkpoints),
            "settings": {**s.__dict__, "record_steps": None if s.record_steps is None else list(s.record_steps),
                         "guidance_interval": list(s.guidance_interval)}}
    return tensors, meta


def render_from_state(tensors: dict[str, torch.Tensor], meta: dict, prefix: str) -> LatentRender:
    """Inverse of ``render_to_state``; raises ModelError when tensors are missing."""
    try:
        sd = dict(meta["settings"])
        sd["guidance_interval"] = tuple(sd["guidance_interval"])
        sd["record_steps"] = None if sd["record_steps"] is None else tuple(sd["record_steps"])
        ck = {int(k): (tensors[f"{prefix}/x/{k}"], tensors[f"{prefix}/denoised/{k}"]) for k in meta["steps_recorded"]}
        return LatentRender(tensors[f"{prefix}/latent"].float(), int(meta["frame_start"]), tensors[f"{prefix}/schedule"],
                            int(meta["seed"]), RenderSettings(**sd), ck)
    except (KeyError, TypeError, ValueError) as e:
        raise ModelError(f"the saved diffusion state {prefix!r} is incomplete ({e}); render the take again") from e


def _to_checkpoint(x: torch.Tensor) -> torch.Tensor:
    """A recorded sampler state at ``CHECKPOINT_DTYPE``, and ``x`` (the sampler's own tensor, batch of one) rounded
    to it *in place*, so that the run continues from exactly what is recorded: resuming from the checkpoint then
    repeats the run bit for bit, and a checkpoint costs half the bytes of a float32 one in the project file."""
    low = x.detach().to(CHECKPOINT_DTYPE)
    x.copy_(low)
    return low[0].cpu().clone()


def _noise(shape, seed: int, device) -> torch.Tensor:
    """Gaussian noise from a seeded CPU generator (identical on every device), moved to ``device``."""
    g = torch.Generator(device="cpu").manual_seed(int(seed))
    return torch.randn(shape, generator=g).to(device)


class DiffusionRenderer:
    """Score of one track ─► latent (flow-matching DiT) ─► audio (codec decoder), at the codec's rate.

    The caller (engine) chooses the device and resamples the audio to the project rate. Latents are the
    codec's normalised latents on the song grid (``score_features``)."""

    def __init__(self, codec, dit, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.codec = codec.to(self.device).eval()
        self.denoiser = FlowDenoiser(dit.to(self.device).eval())
        if dit.cfg.latent_dim != codec.cfg.latent_dim:
            raise ModelError(f"renderer latent size {dit.cfg.latent_dim} does not match the codec's {codec.cfg.latent_dim}")

    @classmethod
    def from_checkpoints(cls, codec_path, renderer_path, device="cpu") -> "DiffusionRenderer":
        return cls(load_codec(codec_path), load_dit(renderer_path), device)

    @property
    def sample_rate(self) -> int:
        return self.codec.cfg.sample_rate

    @property
    def hop(self) -> int:
        return self.codec.cfg.latent_hop

    # --- conditions, encode, decode ------------------------------------------------------------------
    def conditions(self, song, track, frame_start: int, frame_end: int, section=None,
                   tags: tuple[str, ...] | None = None) -> dict[str, torch.Tensor]:
        """Batch-of-one condition tensors for ``track`` over song-grid frames [frame_start, frame_end)."""
        feats = score_features(song, track, frame_start, frame_end, self.sample_rate, self.hop).features
        rc = RenderConditions.from_song(song, track, section)
        if tags is not None:
            rc.tags = tags
        enc = encode_conditions(rc)
        dev = self.device
        return {
            "score": torch.from_numpy(feats)[None].to(dev),
            "instrument": torch.tensor([enc["instrument"]], device=dev),
            "tags": torch.from_numpy(enc["tags"])[None].to(dev),
            "genre": torch.tensor([enc["genre"]], device=dev),
        }

    @torch.no_grad()
    def encode_audio(self, audio: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Mono audio at ``sample_rate`` (N,) -> normalised latent (ceil(N / hop), D)."""
        x = torch.as_tensor(np.asarray(audio, np.float32) if not torch.is_tensor(audio) else audio).float()
        return self.codec.normalize(self.codec.encode(x[None].to(self.device)))[0]

    @torch.no_grad()
    def decode(self, latent: torch.Tensor, roll: torch.Tensor | None = None, cond: dict | None = None,
               frame_offset: int = 0, roll_history: torch.Tensor | None = None) -> np.ndarray:
        """Normalised latent (T, D) -> mono float32 audio (T * hop,) at ``sample_rate``; ``roll`` (T, 128): the
        score's note levels over the same frames, for a codec with harmonics; ``cond``: the track's conditions
        (``conditions``' 'instrument' and 'tags'), for a conditioned codec (``decode_track`` finds both);
        ``frame_offset``: the song-grid frame ``latent`` starts at (the notes' harmonics keep the song's phases);
        ``roll_history`` (H, 128): the note levels of the H frames before it (their release tails)."""
        z = self.codec.denormalize(latent.to(self.device).float())
        r = None if roll is None else torch.as_tensor(roll).float()[None].to(self.device)
        h = None if roll_history is None else torch.as_tensor(roll_history).float()[None].to(self.device)
        cond = cond or {}
        return self.codec.decode(z[None], r, cond.get("instrument"), cond.get("tags"),
                                 frame_offset, h)[0].float().cpu().numpy()

    def decode_track(self, song, track, latent: torch.Tensor, frame_start: int = 0,
                     tags: tuple[str, ...] | None = None, history_frames: int = 0, cancel=None) -> np.ndarray:
        """``decode`` of ``track``'s latent over song-grid frames [frame_start, frame_start + T), with the track's
        pitch roll when the codec synthesises the notes' harmonics (pitched tracks only) and its instrument and
        production tags (``tags``, else the song's) when the codec is conditioned on them; ``history_frames``:
        how many frames of the roll before ``frame_start`` the release tails read (a window of the song decodes
        as the whole song does there when they cover the tails' length, ``release_frames``).

        A latent longer than ``DECODE_CHUNK_FRAMES`` decodes in windows of that many frames, each with the
        decoder's receptive field on both sides and the roll before it (the same audio as one pass up to float
        rounding, in bounded memory), and ``cancel()`` (CancelledError when it returns True) is asked before each:
        a cancelled render returns within one window's decode, not a whole track's."""
        from ..errors import CancelledError

        T, hop = latent.shape[0], self.hop
        reach = self.codec.decoder.receptive_frames()
        if T <= DECODE_CHUNK_FRAMES + 2 * reach:
            if cancel is not None and cancel():
                raise CancelledError("decoding cancelled; nothing was changed")
            return self._decode_window(song, track, latent, frame_start, tags, history_frames)
        out = np.empty(T * hop, np.float32)
        for a in range(0, T, DECODE_CHUNK_FRAMES):
            if cancel is not None and cancel():
                raise CancelledError("decoding cancelled; nothing was changed")
            b = min(T, a + DECODE_CHUNK_FRAMES)
            d0, d1 = max(0, a - reach), min(T, b + reach)
            # the tails read what one pass would: the roll from ``history_frames`` before the latent, or all a
            # tail can reach (``release_frames``) where that is shorter
            history = min(d0 + history_frames, max(history_frames, self.release_frames()))
            audio = self._decode_window(song, track, latent[d0:d1], frame_start + d0, tags, history)
            out[a * hop: b * hop] = audio[(a - d0) * hop: (b - d0) * hop]
        return out

    def _decode_window(self, song, track, latent: torch.Tensor, frame_start: int, tags, history_frames: int):
        roll, history, cond = None, None, None
        if self.codec.cfg.harmonics and not track.is_drum:
            h0 = max(0, frame_start - history_frames)
            full = torch.from_numpy(pitch_roll(song, track, h0, frame_start + latent.shape[0], self.sample_rate,
                                               self.hop))
            history, roll = (full[: frame_start - h0], full[frame_start - h0:]) if frame_start > h0 else (None, full)
        if self.codec.cfg.conditioned:
            cond = {"instrument": torch.tensor([instrument_index(track.program, track.is_drum)]),
                    "tags": torch.from_numpy(self._frame_tags(song, track, frame_start, latent.shape[0], tags))[None]}
        return self.decode(latent, roll, cond, frame_start, history)

    def release_frames(self) -> int:
        """Latent frames after a note's end that its release tail sounds in the decoder (to the tails' floor)."""
        from .harmonic import TAIL_FLOOR

        tail = self.codec.cfg.harmonic_tail
        return math.ceil(-math.log(TAIL_FLOOR) * tail * self.codec.cfg.latent_rate) + 1 if tail > 0 else 0

    def _frame_tags(self, song, track, frame_start: int, frames: int, tags: tuple[str, ...] | None) -> np.ndarray:
        """(frames, n_tags): ``tags`` on every frame, else each section's production (its overrides over the
        song's plan, as ``conditions`` gives the renderer) on its frames and the song's elsewhere."""
        if tags is not None:
            return np.repeat(tag_vector(tags)[None], frames, axis=0)
        out = np.repeat(encode_conditions(RenderConditions.from_song(song, track))["tags"][None], frames, axis=0)
        for section in song.sections:
            f0, f1 = section_frames(song, section, self.sample_rate, self.hop)
            a, b = max(f0 - frame_start, 0), min(f1 - frame_start, frames)
            if a < b:
                out[a:b] = encode_conditions(RenderConditions.from_song(song, track, section))["tags"]
        return out

    # --- sampling ------------------------------------------------------------------------------------
    def _run(self, x, schedule, start_step, cond, settings, old_denoised=None, callback=None) -> LatentRender:
        if settings.sampler not in SAMPLERS:
            raise ModelError(f"unknown sampler {settings.sampler!r}; choose one of {', '.join(SAMPLERS)}")
        record = set(range(len(schedule))) if settings.record_steps is None else set(settings.record_steps)
        checkpoints: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

        def cb(step: int, x_k: torch.Tensor, d: torch.Tensor) -> None:
            if step in record:
                checkpoints[step] = (_to_checkpoint(x_k), _to_checkpoint(d))
            if callback is not None:
                callback(step, x_k)

        cond = {**cond, "guidance": settings.guidance, "guidance_interval": tuple(settings.guidance_interval)}
        out = SAMPLERS[settings.sampler](self.denoiser, x, schedule, cond, cb, start_step=start_step,
                                         old_denoised=old_denoised)
        latent = out[0].detach().cpu().to(CHECKPOINT_DTYPE).float()  # on the float16 grid: stored in half the bytes
        return LatentRender(latent, 0, schedule.cpu(), settings.seed, settings, checkpoints)

    @torch.no_grad()
    def sample(self, cond: dict, num_frames: int, settings: RenderSettings | None = None,
               init_latent: torch.Tensor | None = None, strength: float = 1.0,
               known: torch.Tensor | None = None, known_mask: torch.Tensor | None = None,
               callback=None) -> LatentRender:
        """Sample a latent (num_frames, D) from noise (``init_latent`` None, or ``strength`` 1) or from an
        initial latent at ``strength`` s in [0, 1]: start at t = s on the flow path, x_s = (1 - s) x_init + s eps
        (s = 0 returns ``init_latent`` unchanged). ``known`` (T, D) / ``known_mask`` (T,) fix neighbour frames."""
        settings = settings or RenderSettings()
        if not (0.0 <= strength <= 1.0):
            raise ModelError(f"strength {strength} must be between 0 (keep) and 1 (ignore the initial audio)")
        D = self.codec.cfg.latent_dim
        eps = _noise((1, num_frames, D), settings.seed, self.device)
        if init_latent is None:
            strength = 1.0
        if strength == 0.0:
            lat = init_latent.detach().cpu().clone()
            return LatentRender(lat, 0, torch.zeros(1), settings.seed, settings, {0: (lat, lat)})
        steps = settings.steps if strength == 1.0 else max(1, math.ceil(settings.steps * strength))
        schedule = flow_schedule(steps, strength, settings.shift, self.device)
        x = eps if init_latent is None else FlowDenoiser.noisy(init_latent[None].to(self.device), eps, schedule[:1])
        if callback is not None:
            callback(0, x)
        cond = self._with_known(cond, num_frames, known, known_mask)
        out = self._run(x, schedule, 0, cond, settings, callback=callback)
        if settings.record_steps is None or 0 in settings.record_steps:
            out.checkpoints[0] = (x[0].detach().cpu().clone(), x[0].detach().cpu().clone())
        return out

    @torch.no_grad()
    def resume(self, render: LatentRender, step: int, cond: dict, settings: RenderSettings | None = None,
               variation: float = 1.0, known=None, known_mask=None, callback=None) -> LatentRender:
        """Continue ``render`` from its recorded step ``step`` with possibly new conditions (style), guidance
        or seed. Same seed (and conditions): reproduces ``render.latent`` exactly. New seed: the noise part of
        x_k is replaced by fresh noise (``variation`` in [0, 1] is the fraction replaced, in variance-preserving
        mix), so that later checkpoints (smaller t_k) give variations closer to the original."""
        if step not in render.checkpoints:
            raise ModelError(f"step {step} was not recorded; recorded steps are {sorted(render.checkpoints)}")
        settings = settings or render.settings
        x_k, d_k = (v[None].to(self.device).float() for v in render.checkpoints[step])
        schedule = render.schedule.to(self.device)
        if step >= len(schedule) - 1:
            return LatentRender(x_k[0].cpu(), render.frame_start, render.schedule, settings.seed, settings, {})
        old = d_k if step > 0 else None
        if settings.seed != render.seed and variation > 0:
            t = schedule[step]
            eps_k = (x_k - (1 - t) * d_k) / t
            fresh = _noise(x_k.shape, settings.seed, self.device)
            x_k = (1 - t) * d_k + t * (math.sqrt(1 - variation ** 2) * eps_k + variation * fresh)
            old = None
        cond = self._with_known(cond, x_k.shape[1], known, known_mask)
        out = self._run(x_k, schedule, step, cond, settings, old_denoised=old, callback=callback)
        out.frame_start = render.frame_start
        return out

    def _with_known(self, cond, T, known, known_mask):
        if known is None:
            return cond
        m = torch.zeros(T) if known_mask is None else torch.as_tensor(known_mask).float()
        return {**cond, "known": known[None].to(self.device).float(), "known_mask": m.view(1, T, 1).to(self.device)}

    # --- sections and tracks -------------------------------------------------------------------------
    def section_window(self, song, track, section, track_latent, track_known, tags=None):
        """Frames [a, b) rendered for ``section`` (the section plus up to CONTEXT_SECONDS of known neighbour
        frames on each side), its condition tensors, known latents (T, D) and mask (T,)."""
        f0, f1 = section_frames(song, section, self.sample_rate, self.hop)
        C = int(round(CONTEXT_SECONDS * self.codec.cfg.latent_rate))
        a, b, known, mask = f0, f1, None, None
        if track_latent is not None and track_known is not None:
            total = track_latent.shape[0]
            if bool(track_known[max(0, f0 - C): f0].any()):
                a = max(0, f0 - C)
            if bool(track_known[min(f1, total): min(total, f1 + C)].any()):
                b = min(total, f1 + C)
            known = torch.zeros(b - a, track_latent.shape[1])
            mask = torch.zeros(b - a)
            hi = min(b, total)
            known[: hi - a] = track_latent[a:hi].cpu()
            mask[: hi - a] = track_known[a:hi].float()
            mask[f0 - a: f1 - a] = 0.0  # the section itself is generated
        return (a, b, f0, f1), self.conditions(song, track, a, b, section, tags), known, mask

    @torch.no_grad()
    def render_section(self, song, track, section, settings: RenderSettings | None = None,
                       track_latent: torch.Tensor | None = None, track_known: torch.Tensor | None = None,
                       init_latent: torch.Tensor | None = None, strength: float = 1.0, callback=None,
                       tags: tuple[str, ...] | None = None, init_track_latent: torch.Tensor | None = None,
                       ) -> LatentRender:
        """Render ``track`` in ``section`` with up to ``CONTEXT_SECONDS`` of known neighbour latents on each
        side taken from ``track_latent`` (T_song, D) where ``track_known`` (T_song,) bool is True.

        Returns the render of the whole window (``frame_start`` = its first song-grid frame; checkpoints cover
        the window, so that ``resume_section`` can continue it); ``section_latent`` picks the section's frames.
        ``init_latent`` (section frames, D): the latent of existing audio to start from at ``strength``;
        ``init_track_latent`` (T_song, D): the same for the whole track (the window's frames are taken from it,
        known neighbour frames win)."""
        (a, b, f0, f1), cond, known, mask = self.section_window(song, track, section, track_latent, track_known, tags)
        init = None
        if init_track_latent is not None:
            init = torch.zeros(b - a, self.codec.cfg.latent_dim)
            hi = min(b, init_track_latent.shape[0])
            init[: max(0, hi - a)] = init_track_latent[a:hi].cpu()
            if known is not None:
                init = torch.where(mask[:, None] > 0, known, init)
        if init_latent is not None:
            if init is None:
                init = known.clone() if known is not None else torch.zeros(b - a, self.codec.cfg.latent_dim)
            init[f0 - a: f1 - a] = init_latent.cpu()
        out = self.sample(cond, b - a, settings, init, strength, known, mask, callback)
        out.frame_start = a
        return out

    @torch.no_grad()
    def resume_section(self, song, track, section, render: LatentRender, step: int,
                       settings: RenderSettings | None = None, track_latent=None, track_known=None,
                       variation: float = 1.0, callback=None, tags: tuple[str, ...] | None = None) -> LatentRender:
        """``resume`` for a section render: rebuilds the window's conditions (new style ``tags`` allowed)."""
        (a, b, _, _), cond, known, mask = self.section_window(song, track, section, track_latent, track_known, tags)
        if (a, b - a) != (render.frame_start, render.latent.shape[0]):
            raise ModelError("the section's neighbours changed since this take was rendered; render it again")
        return self.resume(render, step, cond, settings, variation, known, mask, callback)

    def section_latent(self, song, section, render: LatentRender) -> torch.Tensor:
        """The section's own frames (f1 - f0, D) of a window render."""
        f0, f1 = section_frames(song, section, self.sample_rate, self.hop)
        return render.latent[f0 - render.frame_start: f1 - render.frame_start]

    def song_frames(self, song) -> int:
        """Number of song-grid frames covering every section."""
        return max([1] + [section_frames(song, s, self.sample_rate, self.hop)[1] for s in song.sections])

    @torch.no_grad()
    def render_track(self, song, track, settings: RenderSettings | None = None, callback=None,
                     init_audio: np.ndarray | None = None, strength: float = 1.0) -> tuple[torch.Tensor, list[LatentRender]]:
        """Render every section of ``track`` in order, each seeing the previous one as known context; returns
        the whole-track latent (T_song, D) and the per-section renders (seed = settings.seed + section index).

        ``init_audio``: mono audio of the track at ``sample_rate`` (sample 0 = song start; e.g. its SoundFont
        render) to start from at ``strength`` (0 keeps it, 1 ignores it)."""
        settings = settings or RenderSettings()
        total = self.song_frames(song)
        init_track = None
        if init_audio is not None and strength < 1.0:
            init_track = self.encode_audio(np.asarray(init_audio, np.float32)[: total * self.hop]).cpu()
        latent = torch.zeros(total, self.codec.cfg.latent_dim)
        known = torch.zeros(total, dtype=torch.bool)
        renders = []
        for i, section in enumerate(sorted(song.sections, key=lambda s: s.start_bar)):
            s = RenderSettings(**{**settings.__dict__, "seed": settings.seed + i})
            r = self.render_section(song, track, section, s, latent, known, callback=callback,
                                    strength=strength if init_track is not None else 1.0, init_track_latent=init_track)
            f0, f1 = section_frames(song, section, self.sample_rate, self.hop)
            sec = self.section_latent(song, section, r)
            new = ~known[f0:f1]  # keep already rendered (overlap) frames
            latent[f0:f1][new] = sec[new]
            known[f0:f1] = True
            renders.append(r)
        return latent, renders

    @torch.no_grad()
    def render_stems(self, song, track_ids=None, settings: RenderSettings | None = None, callback=None,
                     init_audio: dict[str, np.ndarray] | None = None, strength: float = 1.0):
        """Render the tracks (ids or names; None = all) of ``song``: returns ({track id: mono float32 audio at
        ``sample_rate``, sample 0 = song start}, {track id: per-section renders}). The engine resamples.
        ``init_audio``: track id -> mono audio to start from at ``strength`` (see ``render_track``)."""
        tracks = song.tracks if track_ids is None else [song.track(t) for t in track_ids]
        stems, renders = {}, {}
        for track in tracks:
            init = None if init_audio is None else init_audio.get(track.id)
            latent, rs = self.render_track(song, track, settings, callback, init, strength)
            stems[track.id], renders[track.id] = self.decode_track(song, track, latent), rs
        return stems, renders
