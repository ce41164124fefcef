"""The SL 323 real-time rain and water database (实时雨水情数据库) read directly, as a source of
``sources.yaml`` (``kind: sl323-db``) polled by ``riskmap ingest run``.

Each poll reads ST_PPTN_R, ST_RIVER_R and ST_RSVR_R from a high-water mark on TM less an
overlap (rows inserted late with an older TM), page by page in (TM, STCD) order with SQLAlchemy
Core (:mod:`.remote`), puts every page through the checks and loads of the SL 323 files
(:mod:`.rows`) and commits it with the mark (:mod:`.store`); :mod:`.poll` ties them together.
"""
