"""Satellite fire hotspots the day before the storm, as a NASA FIRMS VIIRS CSV.

The fire feed arrives in FIRMS' column layout; three detections in the county's hills give the
fire rules something to see in the replayed day.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from riskmap.geo.demo.partition import sample_points
from riskmap.geo.demo.scenario.storm import stamp


def write_hotspots(
    outline: shapely.Geometry, start: datetime, out_dir: Path, rng: np.random.Generator
) -> Path:
    """Three VIIRS detections in the county's hills the afternoon before the storm."""
    pts = shapely.get_coordinates(sample_points(outline, 3, seed=int(rng.integers(1 << 30))))
    when = start - timedelta(hours=18)
    frame = pd.DataFrame(
        {
            "latitude": np.round(pts[:, 1], 5),
            "longitude": np.round(pts[:, 0], 5),
            "bright_ti4": [338.2, 351.9, 329.4],
            "scan": [0.39, 0.41, 0.44],
            "track": [0.36, 0.37, 0.38],
            "acq_date": when.strftime("%Y-%m-%d"),
            "acq_time": when.strftime("%H%M"),
            "satellite": "N",
            "confidence": ["n", "h", "n"],
            "version": "2.0NRT",
            "bright_ti5": [296.1, 301.7, 294.8],
            "frp": [6.4, 18.9, 3.2],
            "daynight": "D",
        }
    )
    path = out_dir / f"{stamp(when + timedelta(hours=3))}_firms_viirs.csv"
    frame.to_csv(path, index=False)
    return path
