"""Speech for village loudspeakers (村村响): a pluggable synthesiser and an on-disk cache.

Most terminals speak the text themselves; the ones that only play files fetch
``/api/broadcasts/{id}/audio.wav|mp3``. The default voice is espeak-ng (a Debian package, no
model download); a site with a better Mandarin engine (a vendor TTS) plugs it in as a command
that reads text on stdin and writes WAV on stdout. A broadcast's text never changes, so each
(synthesiser, text) is made once and kept under ``data_dir/audio``.
"""

from __future__ import annotations

import hashlib
import io
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import lameenc

MP3_KBPS = 48  # plenty for speech at espeak's 22.05 kHz mono; a 30 s broadcast is ~180 kB


class SynthesisError(RuntimeError):
    """The synthesiser is missing or failed (said to operators, not to listeners)."""


class Synthesiser(Protocol):
    """Text in, WAV bytes out. ``name`` must change whenever the voice does (it keys the cache)."""

    name: str

    def wav(self, text: str) -> bytes: ...


class CommandSynthesiser:
    """A site command (e.g. a vendor TTS): UTF-8 text on stdin, a WAV file on stdout."""

    def __init__(
        self, command: str | Sequence[str], *, name: str | None = None, timeout_s: float = 120
    ) -> None:
        self.argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not self.argv:
            raise ValueError("empty synthesiser command")
        self.name = name or "command:" + shlex.join(self.argv)
        self.timeout_s = timeout_s

    def wav(self, text: str) -> bytes:
        binary = shutil.which(self.argv[0])
        if binary is None:
            raise SynthesisError(f"speech synthesiser {self.argv[0]!r} not found")
        try:
            done = subprocess.run(
                [binary, *self.argv[1:]],
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SynthesisError(f"{self.argv[0]} took over {self.timeout_s:.0f} s") from None
        if done.returncode != 0 or not done.stdout:
            err = done.stderr.decode("utf-8", "replace").strip()[-300:]
            raise SynthesisError(f"{self.argv[0]} failed ({done.returncode}): {err}")
        return normalise_wav(done.stdout)


class EspeakSynthesiser(CommandSynthesiser):
    """espeak-ng's Mandarin voice.

    ``cmn-latn-pinyin``, not ``cmn``: with espeak-ng 1.51 (Debian 12) the ``cmn`` voice hands
    most characters to its English rules as pinyin with tone digits ("ma two yang two ..."),
    while ``cmn-latn-pinyin`` reads the same characters in Mandarin.
    """

    def __init__(self, voice: str = "cmn-latn-pinyin", speed: int = 150) -> None:
        if shutil.which("espeak-ng") is None:
            raise SynthesisError("espeak-ng is not installed: run `make setup`")
        # -b 1: the input is UTF-8 whatever the locale; --stdout: the WAV on stdout
        self.voice, self.speed = voice, speed
        argv = ["espeak-ng", "-v", voice, "-s", str(speed), "-b", "1", "--stdout"]
        super().__init__(argv, name=f"espeak-ng:{voice}:{speed}", timeout_s=60)


def synthesiser_for(settings: Any) -> Synthesiser:
    """The site's command (``tts_command`` setting) when there is one, else espeak-ng."""
    command = getattr(settings, "tts_command", None)
    return CommandSynthesiser(command) if command else EspeakSynthesiser()


def normalise_wav(data: bytes) -> bytes:
    """The same audio with exact RIFF sizes.

    espeak-ng (and most tools) writing to a pipe cannot seek back, so the header says
    0x7ffff000 bytes; readers that trust it see a 13-hour file.
    """
    try:
        with wave.open(io.BytesIO(data)) as w:
            params = w.getparams()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise SynthesisError(f"the synthesiser did not write a WAV file: {exc}") from None
    frame = params.nchannels * params.sampwidth
    frames = frames[: len(frames) - len(frames) % frame]
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(params.nchannels)
        w.setsampwidth(params.sampwidth)
        w.setframerate(params.framerate)
        w.writeframes(frames)
    return out.getvalue()


def mp3(wav_bytes: bytes, kbps: int = MP3_KBPS) -> bytes:
    """MP3 (constant bit rate) of 16-bit PCM WAV, mono or stereo."""
    with wave.open(io.BytesIO(wav_bytes)) as w:
        if w.getsampwidth() != 2 or w.getnchannels() not in (1, 2):
            raise SynthesisError(
                f"MP3 needs 16-bit mono or stereo PCM, got {8 * w.getsampwidth()}-bit"
                f" with {w.getnchannels()} channels"
            )
        channels, rate = w.getnchannels(), w.getframerate()
        pcm = w.readframes(w.getnframes())
    enc = lameenc.Encoder()
    enc.set_bit_rate(kbps)
    enc.set_in_sample_rate(rate)
    enc.set_channels(channels)
    enc.set_quality(2)
    enc.silence()
    return bytes(enc.encode(pcm)) + bytes(enc.flush())


def cache_key(text: str, synth: Synthesiser) -> str:
    """sha256 of (synthesiser, text): the file name, and the route's ETag."""
    return hashlib.sha256(f"{synth.name}\0{text}".encode()).hexdigest()


def audio(text: str, fmt: Literal["wav", "mp3"], cache_dir: Path, synth: Synthesiser) -> Path:
    """The cached file of ``text`` spoken by ``synth``, made on first use.

    Written to a temporary file and renamed into place, so API workers answering the same
    broadcast at once never serve half a file (the loser's rename replaces identical bytes).
    """
    if fmt not in ("wav", "mp3"):
        raise ValueError(f"fmt must be wav or mp3, not {fmt!r}")
    path = cache_dir / f"{cache_key(text, synth)}.{fmt}"
    if path.is_file():
        return path
    # every terminal of a warning asks for the same audio at once: one synthesis per file and
    # process, the others wait for it instead of starting a synthesiser each
    with _lock_for(path):
        if path.is_file():
            return path
        return _make(text, fmt, cache_dir, synth, path)


_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(path, threading.Lock())


def _make(text: str, fmt: str, cache_dir: Path, synth: Synthesiser, path: Path) -> Path:
    if fmt == "mp3":
        data = mp3(audio(text, "wav", cache_dir, synth).read_bytes())
    else:
        data = synth.wav(text)
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
