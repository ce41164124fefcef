"""``/api/broadcasts/{id}/audio.wav|mp3``: a village broadcast (村村响) spoken, for terminals
that play a file instead of reading text aloud (their message links here).

Public, like the warning texts it speaks. Synthesised once into ``data_dir/audio`` and served
from there; a broadcast's text never changes, so clients may cache the file for good.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Request, Response
from fastapi.responses import FileResponse

from riskmap.api.audio import tts
from riskmap.api.deps import Connection
from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.api.sql")
MEDIA_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}
CACHE_CONTROL = "public, max-age=31536000, immutable"

router = APIRouter(tags=["delivery"])


def _synthesiser(request: Request) -> tts.Synthesiser:
    state = request.app.state
    if getattr(state, "synthesiser", None) is None:
        state.synthesiser = tts.synthesiser_for(state.settings)
    return state.synthesiser


@router.get(
    "/api/broadcasts/{broadcast_id}/audio.{fmt}",
    summary="A village broadcast as audio (WAV or MP3)",
    response_class=FileResponse,
    responses={
        200: {"content": {"audio/wav": {}, "audio/mpeg": {}}},
        304: {"description": "the client's copy (If-None-Match) is current"},
        404: {"description": "no such broadcast"},
        503: {"description": "the speech synthesiser is missing or failed"},
    },
)
def broadcast_audio(
    request: Request,
    conn: Connection,
    broadcast_id: Annotated[int, Path(ge=1, le=2**62)],
    fmt: Literal["wav", "mp3"],
) -> Response:
    """The broadcast's text as the terminal would say it (no token needed)."""
    row = conn.execute(SQL("broadcast_text.sql"), {"id": broadcast_id}).fetchone()
    if row is None or not row["text"]:
        raise HTTPException(404, detail=f"no broadcast {broadcast_id}")
    text = row["text"]
    try:
        synth = _synthesiser(request)
        etag = f'"{tts.cache_key(text, synth)}-{fmt}"'
        headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag}
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        cache = request.app.state.settings.data_dir / "audio"
        path = tts.audio(text, fmt, cache, synth)
    except tts.SynthesisError as exc:
        raise HTTPException(503, detail=f"speech synthesis unavailable: {exc}") from None
    return FileResponse(path, media_type=MEDIA_TYPES[fmt], headers=headers)


@router.get(
    "/api/broadcasts/{broadcast_id}/audio",
    summary="A village broadcast as audio: MP3 when the client prefers it, else WAV",
    response_class=FileResponse,
    responses={200: {"content": {"audio/wav": {}, "audio/mpeg": {}}}, 404: {}, 503: {}},
)
def broadcast_audio_negotiated(
    request: Request,
    conn: Connection,
    broadcast_id: Annotated[int, Path(ge=1, le=2**62)],
) -> Response:
    """WAV (every terminal plays it) unless the Accept header asks for audio/mpeg."""
    accept = request.headers.get("accept", "")
    fmt: Literal["wav", "mp3"] = "mp3" if "audio/mpeg" in accept else "wav"
    return broadcast_audio(request, conn, broadcast_id, fmt)
