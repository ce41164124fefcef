"""Demo village broadcast terminals (村村响), one per village committee, in three protocols.

Warning delivery speaks HTTP JSON, EBM XML and MQTT to real terminals; the demo mixes them and
marks a few offline or faulty so delivery failures can be seen.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from riskmap.geo.demo.resources.context import Ctx, geo_frame, serial_ids

MQTT_URL = "mqtt://127.0.0.1:1883/riskmap/broadcast/{code}"


def make_terminals(ctx: Ctx, broadcast_url: str) -> gpd.GeoDataFrame:
    """One 村村响 terminal per village committee: mostly HTTP JSON, some EBM XML and MQTT."""
    v, rng = ctx.villages, ctx.rng
    n = len(v)
    draw = rng.random(n)
    protocol = np.where(draw < 0.1, "mqtt", np.where(draw < 0.3, "ebm-xml", "http-json"))
    endpoint = [
        MQTT_URL.format(code=c) if p == "mqtt" else broadcast_url.format(code=c)
        for c, p in zip(v["code"], protocol, strict=True)
    ]
    pop = v["population"].to_numpy(dtype=float)
    speakers = np.clip(np.rint(pop / 800 + rng.uniform(-1, 1, n)), 1, 6).astype(np.int64)
    health = rng.random(n)
    status = np.where(health < 0.03, "fault", np.where(health < 0.08, "offline", "online"))
    data = {
        "id": serial_ids("BT", ctx.code, n),
        "name": list(v["name"] + "应急广播终端"),
        "village_code": v["code"].to_numpy(),
        "protocol": protocol,
        "endpoint": endpoint,
        "speakers": speakers,
        "status": status,
        "dataset_id": ctx.dataset_id,
    }
    return geo_frame("broadcast_terminal", data, ctx.village_pts)
