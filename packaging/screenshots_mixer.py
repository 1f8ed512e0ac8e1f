"""The mixer dock for ``screenshots.py``: the song plays for three seconds through a fake output device (the
real audio callback, pulled here), so the meters, the loudness and the true peak show real values."""
from __future__ import annotations


def shoot_mixer(window, app, save) -> None:
    from melodex_studio.playback.stream import FakeOutputStream

    if not window.audio_source.wait(300):
        return
    fake = FakeOutputStream(window.playback.sample_rate, 1024)
    window.playback.use_stream(fake)
    window.mixer_dock.show()
    window.mixer_dock.raise_()
    window.transport_control.play()
    for _ in range(30):  # 3 s of audio, the meters updated as at 10 Hz
        fake.pull(window.playback.sample_rate // 10)
        window.mixer_view.update_meters()
        app.processEvents()
    window.mixer_view.measure()
    window.transport_control.follow()
    app.processEvents()
    save(window.mixer_dock.grab(), "mixer")
    window.transport_control.stop()
    window.waveform_dock.raise_()
