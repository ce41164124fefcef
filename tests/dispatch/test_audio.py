"""Broadcast audio from the real espeak-ng and a real site command: valid WAV and MP3, cached
once per (voice, text), written so that concurrent readers never see half a file."""

from __future__ import annotations

import io
import subprocess
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from riskmap.api.audio.tts import (
    MP3_KBPS,
    CommandSynthesiser,
    EspeakSynthesiser,
    SynthesisError,
    audio,
)

SENTENCE = "麻阳苗族自治县山洪灾害立即转移预警，危险区人员立即按转移路线撤离到安置点。"


def wav_facts(data: bytes) -> tuple[int, int, int, float]:
    """(channels, sample width, rate, seconds) as the stdlib reads the file."""
    with wave.open(io.BytesIO(data)) as w:
        n = w.getnframes()
        assert len(w.readframes(n)) == n * w.getnchannels() * w.getsampwidth()
        return w.getnchannels(), w.getsampwidth(), w.getframerate(), n / w.getframerate()


def test_espeak_wav_is_valid_and_as_long_as_the_text() -> None:
    synth = EspeakSynthesiser()
    one = synth.wav(SENTENCE)
    two = synth.wav(SENTENCE + SENTENCE)
    channels, width, rate, seconds = wav_facts(one)
    assert (channels, width) == (1, 2)
    assert rate > 8000
    assert 5 < seconds < 20  # 37 characters: 7 to 12 s as people and espeak-ng read them
    # the header tells the true size (espeak writes 0x7ffff000 when it writes to a pipe)
    assert len(one) == 44 + round(seconds * rate) * 2
    ratio = wav_facts(two)[3] / seconds
    assert 1.7 < ratio < 2.3


def test_the_default_voice_reads_characters_in_mandarin() -> None:
    """espeak-ng marks a switch to its English rules with "(en)" in the phonemes; Debian's
    ``cmn`` voice does that for most characters (pinyin read as English), the default must not."""
    voice = EspeakSynthesiser().voice
    phonemes = subprocess.run(
        ["espeak-ng", "-v", voice, "-q", "-x", "-b", "1"],
        input=SENTENCE.encode(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert phonemes.strip()
    assert "(en)" not in phonemes


def test_mp3_is_mpeg_audio_of_the_same_length(tmp_path: Path) -> None:
    synth = EspeakSynthesiser()
    wav_path = audio(SENTENCE, "wav", tmp_path, synth)
    mp3_path = audio(SENTENCE, "mp3", tmp_path, synth)
    data = mp3_path.read_bytes()
    assert mp3_path.suffix == ".mp3"
    assert data[:3] == b"ID3" or (data[0] == 0xFF and data[1] & 0xE0 == 0xE0)  # frame sync
    seconds = wav_facts(wav_path.read_bytes())[3]
    # constant bit rate: bytes = seconds × kbps × 1000 / 8 (give or take the encoder's padding)
    expected = seconds * MP3_KBPS * 1000 / 8
    assert 0.8 * expected < len(data) < 1.25 * expected


def test_cache_makes_each_text_once(tmp_path: Path) -> None:
    """A site command (here a shell line around espeak-ng that counts its runs) is called once
    per text; the file is reused, a different text or voice makes another."""
    runs = tmp_path / "runs"
    command = ["sh", "-c", f"echo run >> {runs}; espeak-ng -v cmn-latn-pinyin -b 1 --stdout"]
    synth = CommandSynthesiser(command, name="site-tts")
    cache = tmp_path / "audio"
    first = audio("暴雨红色预警。", "wav", cache, synth)
    again = audio("暴雨红色预警。", "wav", cache, synth)
    other = audio("暴雨橙色预警。", "wav", cache, synth)
    assert first == again != other
    assert runs.read_text().count("run") == 2
    assert audio("暴雨红色预警。", "wav", cache, EspeakSynthesiser()) != first
    assert wav_facts(first.read_bytes())[0] == 1
    assert sorted(p.name for p in cache.iterdir() if p.name.startswith(".")) == []


def test_concurrent_first_requests_get_one_whole_file(tmp_path: Path) -> None:
    synth = EspeakSynthesiser()
    with ThreadPoolExecutor(8) as pool:
        paths = list(pool.map(lambda _: audio(SENTENCE, "mp3", tmp_path, synth), range(8)))
    assert len(set(paths)) == 1
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".mp3", ".wav"]  # no leftovers
    assert wav_facts(audio(SENTENCE, "wav", tmp_path, synth).read_bytes())[3] > 3


def test_a_failing_site_command_is_a_synthesis_error(tmp_path: Path) -> None:
    with pytest.raises(SynthesisError, match="failed"):
        CommandSynthesiser(["sh", "-c", "echo broken >&2; exit 3"]).wav("预警")
    with pytest.raises(SynthesisError, match="WAV"):
        CommandSynthesiser(["sh", "-c", "echo not audio"]).wav("预警")
    with pytest.raises(SynthesisError, match="not found"):
        CommandSynthesiser("no-such-tts-command --wav").wav("预警")
