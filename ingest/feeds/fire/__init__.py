"""Forest-fire feeds: NASA FIRMS satellite hotspots and fire-danger ratings.

Importing the package registers the two feeds, in detection order:

``hotspots`` (:mod:`.firms`)
    FIRMS active-fire CSV, MODIS or VIIRS, stored in ``hotspot`` and tied to the nearest village.
``fire-danger`` (:mod:`.danger`)
    Fire-danger weather ratings, level 1 (low) … 5 (extreme), per area: CSV by admin code or
    GeoJSON polygons, stored in ``fire_danger``.

Both use the field, sniffing and GeoJSON helpers of :mod:`riskmap.ingest.feeds.features`.
"""

from __future__ import annotations

from riskmap.ingest.feeds.fire.danger import FireDanger
from riskmap.ingest.feeds.fire.firms import Hotspots
from riskmap.ingest.registry import register

register(Hotspots())
register(FireDanger())
