"""Spoken broadcasts: the text of a village broadcast (村村响) as WAV or MP3 for terminals that
play a file rather than speak text themselves (``tts``: synthesis and the on-disk cache)."""
