"""What works on this machine: the check behind ``melodex doctor`` and the window's first-run page.

Each ``Check`` says what was looked at, whether it is there, and what to install when it is not. The models
and the packages are the essentials (nothing can be written or rendered without them); a missing audio output
or GPU only takes a part away (SoundFont previews and rendering, playback, speed). Nothing here imports torch or Qt: the
device is found as the status bar finds it (``detect_device``), package versions from their metadata.
"""
from __future__ import annotations

import platform
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

OK, MISSING, WARNING = "ok", "missing", "warning"
KEY_PACKAGES = ("numpy", "torch", "PySide6-Essentials", "pyqtgraph", "soundfile", "sounddevice", "tinysoundfont",
                "safetensors", "mido")
_CARD_HASH = re.compile(r"sha256 `([0-9a-f]{64})`")


@dataclass
class Check:
    """One line of the report: ``status`` is OK, MISSING or WARNING; ``fix`` says what to do when not OK."""

    name: str
    status: str
    detail: str
    fix: str = ""
    essential: bool = False

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_dict(self) -> dict:
        return asdict(self)


def detect_device(requested: str = "auto") -> str:
    """'CPU', 'CUDA: <GPU name>' or 'Apple MPS' for a device choice, without importing torch: torch's answer
    when a job has loaded it, else an NVIDIA GPU from the driver's ``/proc`` entry, Apple silicon from the
    platform, else the CPU."""
    if requested == "cpu":
        return "CPU"
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        try:
            if torch.cuda.is_available():
                return f"CUDA: {torch.cuda.get_device_name(0)}"
            if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
                return "Apple MPS"
            return "CPU"
        except Exception:  # noqa: BLE001 - a driver problem shows as the CPU
            return "CPU"
    for info in sorted(Path("/proc/driver/nvidia/gpus").glob("*/information")):
        try:
            for line in info.read_text().splitlines():
                if line.startswith("Model:"):
                    return f"CUDA: {line.split(':', 1)[1].strip()}"
        except OSError:
            pass
    if sys.platform == "darwin" and platform.machine() == "arm64":
        return "Apple MPS"
    return "CPU"


def card_sha256(card: Path | None) -> str | None:
    """The sha256 a model card records for its file (``sha256 `<64 hex>```), or None."""
    if card is None:
        return None
    try:
        found = _CARD_HASH.search(card.read_text(encoding="utf-8"))
    except OSError:
        return None
    return found.group(1) if found else None


def check_models() -> list[Check]:
    """One check per model kind: the file the engine would load, its sha256 against its model card."""
    from ..errors import ModelError
    from .models import _WHAT, FILES, KINDS, list_models, user_models_dir

    how = {"structure": "Generate and Regenerate", "codec": "the diffusion renderer (else the SoundFont renders)",
           "renderer": "the diffusion renderer (else the SoundFont renders)"}
    fix = (f"reinstall Melodex Studio (it ships models/), or put the .safetensors files in {user_models_dir()}, "
           f"or set MELODEX_STRUCTURE_MODEL / MELODEX_CODEC_MODEL / MELODEX_RENDERER_MODEL")
    try:
        infos = list_models()
    except ModelError as e:
        return [Check("models", MISSING, str(e), fix, essential=True)]
    out = []
    for kind in KINDS:
        name = _WHAT[kind]
        info = next((m for m in infos if m.kind == kind and m.default), None)
        if info is None:
            out.append(Check(name, MISSING, f"no {FILES[kind]} found; needed for {how[kind]}", fix, essential=True))
            continue
        want = card_sha256(info.card)
        where = f"{info.name} ({info.source}, {info.parameters / 1e6:.1f} M parameters) sha256 {info.sha256[:12]}"
        if want is not None and want != info.sha256:
            out.append(Check(name, MISSING, f"{where} does not match its model card ({want[:12]}): the file is "
                                            f"damaged or was replaced", fix, essential=True))
        else:
            note = "matches its model card" if want else "no model card hash to compare"
            out.append(Check(name, OK, f"{where}, {note}", essential=True))
    return out


def check_soundfont() -> list[Check]:
    """The General MIDI SoundFont the previews and the SoundFont renderer use, and the synthesiser."""
    from ..errors import AudioError

    out = []
    fix_sf = "install an MIT General MIDI SoundFont: Debian/Ubuntu `sudo apt-get install fluid-soundfont-gm`"
    # numpy and mido only; no torch
    from ..render.soundfont_fallback import synth_installed

    if not synth_installed():
        out.append(Check("SoundFont synthesiser", MISSING, "the tinysoundfont package is not installed: `melodex` "
                         "renders with the diffusion renderer instead (slower, levelled to plain tones of the notes); "
                         "the SoundFont render and the studio's SoundFont previews need it",
                         "pip install --no-deps tinysoundfont (its PyAudio requirement is not used; packaging/README.md)"))
    try:
        from ..render.soundfont import find_soundfont

        path = find_soundfont()
    except AudioError as e:
        out.append(Check("SoundFont", MISSING, str(e), fix_sf))
        return out
    if path.name == "TimGM6mb.sf2":
        out.append(Check("SoundFont", WARNING, f"{path} (pretty_midi's small GPL-2 SoundFont, used in place)",
                         fix_sf + " for the fuller FluidR3_GM (MIT)"))
    else:
        out.append(Check("SoundFont", OK, str(path)))
    return out


def check_audio_output() -> list[Check]:
    """PortAudio (through sounddevice) and a default output device, for playback."""
    from ..playback.stream import NoAudioOutputError, _sounddevice, output_devices

    fix = "install PortAudio (Debian/Ubuntu: `sudo apt-get install libportaudio2`) and connect an output device"
    try:
        devices = output_devices()
        sd = _sounddevice()
        try:
            default = sd.query_devices(kind="output")["name"]
        except Exception:  # noqa: BLE001 - no default output: the list above still says what there is
            default = None
    except NoAudioOutputError as e:
        return [Check("audio output", MISSING, f"{e}; playback is off (export still works)", fix)]
    if default is None:
        return [Check("audio output", WARNING, f"{len(devices)} output device(s), none is the default",
                      "choose one in Settings ▸ Audio Settings")]
    return [Check("audio output", OK, f"{default} (default of {len(devices)} output device(s))")]


def check_device() -> list[Check]:
    """Where the models run. The CPU works everywhere; a GPU is faster."""
    found = detect_device()
    if found == "CPU":
        return [Check("compute device", OK, "CPU (works everywhere; renders are faster on a CUDA GPU or Apple MPS)")]
    return [Check("compute device", OK, found)]


def package_versions() -> dict[str, str | None]:
    """Python and the key packages' installed versions (None: not installed), from their metadata."""
    from importlib import metadata

    from .. import __version__

    out: dict[str, str | None] = {"python": platform.python_version(), "melodex-studio": __version__}
    for name in KEY_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def check_packages() -> list[Check]:
    versions = package_versions()
    required = ("numpy", "torch", "safetensors", "soundfile", "mido")
    lost = [n for n in required if versions.get(n) is None]
    detail = ", ".join(f"{n} {v}" for n, v in versions.items() if v is not None)
    if lost:
        return [Check("packages", MISSING, f"not installed: {', '.join(lost)}; {detail}",
                      "pip install melodex-studio (or `make install` in a checkout)", essential=True)]
    return [Check("packages", OK, detail)]


def run_checks() -> list[Check]:
    """Every check, models first. Never raises for a missing piece: that is what the report says."""
    return [*check_models(), *check_soundfont(), *check_audio_output(), *check_device(), *check_packages()]


def essentials_ok(checks: list[Check]) -> bool:
    return all(c.ok for c in checks if c.essential)
