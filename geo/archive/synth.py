"""Synthetic archives of hourly rain grids: realistic enough to exercise the frequency analysis.

Each hour's field is a thresholded, exponentiated Gaussian random field:

* **spatially correlated** — white noise filtered in Fourier space to a Gaussian spectrum (a
  mesoscale field of ~40 km plus a synoptic field of ~400 km that organises rainy days);
* **moving** — storms advect with a seasonal steering wind (a phase shift of the spectrum each
  hour) and persist (AR(1) in time: hours ~0.92, synoptic ~0.985), so 24 h totals pile up;
* **intermittent and heavy-tailed** — only where the field exceeds a threshold does it rain, and
  the amount grows exponentially with the excess (most wet hours < 2 mm, rare ones > 50 mm);
* **stormy spells** — each 72 h block has a lognormal severity (σ 0.5), so some years bring a
  far wetter system than others even over a small county;
* **seasonal** — the threshold falls and the scale rises towards Hunan's wet season (peak in
  June, wet April–July), dry winter.

The field is always drawn on at least ``MIN_DOMAIN_KM`` (then cut to the extent asked for), so a
county and a province get the same climate: Mayang's median annual maxima are ~32 mm in an hour
and ~100 mm in a day, Hunan's ~37 and ~130 — a humid province's storms at 5 km cells.

Reproducible: each month's fields come from ``SeedSequence([seed, year, month])`` and a spin-up
of its own, so the same seed gives the same bytes whatever months are generated, in any order.
Memory is bounded: a month is written one day (24 fields) at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

KM_PER_DEGREE = 111.2
HOUR = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
VARIABLE = "precipitation_amount"
#: bumped whenever the same seed would give other values: cached archives are keyed by it
VERSION = 2
MIN_DOMAIN_KM = 400.0  # the smallest field drawn: statistics that do not depend on the extent


@dataclass(frozen=True)
class GridSpec:
    """A regular lon/lat grid by its extent (degrees, cell edges) and cell size."""

    west: float
    south: float
    east: float
    north: float
    res: float

    @property
    def shape(self) -> tuple[int, int]:
        return (
            round((self.north - self.south) / self.res),
            round((self.east - self.west) / self.res),
        )

    def lats(self) -> np.ndarray:
        """Cell centres, north to south (north-up, as the zonal weights number cells)."""
        return self.north - self.res * (np.arange(self.shape[0]) + 0.5)

    def lons(self) -> np.ndarray:
        return self.west + self.res * (np.arange(self.shape[1]) + 0.5)


PRESETS: dict[str, tuple[GridSpec, int]] = {
    # (grid, default years)
    "hunan": (GridSpec(108.7, 24.6, 114.3, 30.2, 0.05), 10),
    "china": (GridSpec(73.0, 18.0, 135.0, 54.0, 0.1), 1),
}


def snapped_spec(west: float, south: float, east: float, north: float, res: float) -> GridSpec:
    """A grid on multiples of ``res`` that covers the bbox (so archives of one region align)."""
    w = np.floor(west / res) * res
    s = np.floor(south / res) * res
    e = np.ceil(east / res) * res
    n = np.ceil(north / res) * res
    return GridSpec(round(w, 6), round(s, 6), round(e, 6), round(n, 6), res)


def _season(day_of_year: float) -> float:
    """0 in deep winter … 1 at the wet-season peak (mid-June); wet April–July."""
    return 0.5 + 0.5 * np.cos(2 * np.pi * (day_of_year - 165.0) / 365.25)


class _Fields:
    """The evolving spectra of one month (mesoscale storms and synoptic systems).

    Only the wavenumbers a filter lets through (amplitude > 1e-6) are kept and drawn, and both
    spectra are summed before one inverse FFT per hour (batched per block): a few ms a day."""

    def __init__(self, spec: GridSpec, rng: np.random.Generator) -> None:
        ny, nx = spec.shape
        km = spec.res * KM_PER_DEGREE
        # pad so the periodic FFT domain does not wrap storms straight across the region, and
        # never draw on less than MIN_DOMAIN_KM: on a county-sized domain the synoptic field
        # has no modes but its mean, and the rain's statistics would depend on the extent asked
        least = int(np.ceil(MIN_DOMAIN_KM / km))
        self.ny, self.nx = max(ny + ny // 4 + 8, least), max(nx + nx // 4 + 8, least)
        self.shape = (ny, nx)
        ky = np.fft.fftfreq(self.ny)[:, None] / km  # cycles per km
        kx = np.fft.rfftfreq(self.nx)[None, :] / km
        k2 = kx**2 + ky**2
        self.parts = []  # (flat indices kept, amplitude there, AR(1) coefficient, weight)
        full = self.ny * (self.nx // 2 + 1)
        for length_km, rho, weight in ((40.0, 0.93, 0.8), (400.0, 0.985, 0.6)):
            amp = np.exp(-k2 * (np.pi * length_km) ** 2 / 2)  # Gaussian covariance of that size
            amp = np.broadcast_to(amp, (self.ny, self.nx // 2 + 1)).ravel()
            keep = np.flatnonzero(amp > 1e-6 * amp.max())
            a = amp[keep]
            # unit variance in space: irfft2 of a complex spectrum c has variance
            # ≈ sum |c|² · 2 / N² (Hermitian halves), so scale a to make that 1
            a = a / np.sqrt((a**2).sum() * 2) * (self.ny * self.nx)
            kxs = np.broadcast_to(kx, (self.ny, self.nx // 2 + 1)).ravel()[keep]
            kys = np.broadcast_to(ky, (self.ny, self.nx // 2 + 1)).ravel()[keep]
            self.parts.append((keep, a, rho, weight, kxs, kys))
        self.full = full
        self.rng = rng
        self.state = [self._noise(p[1]) for p in self.parts]

    def _noise(self, amp: np.ndarray, hours: int | None = None) -> np.ndarray:
        shape = amp.shape if hours is None else (hours, amp.size)
        re = self.rng.standard_normal(shape)
        im = self.rng.standard_normal(shape)
        return (re + 1j * im) * (amp / np.sqrt(2))

    def block(self, hours: int, wind_kmh: tuple[float, float]) -> np.ndarray:
        """Advance ``hours`` hours under one steering wind (u east, v north, km/h); the
        unit-variance fields (hours, height, width).

        The AR(1) recursion ``s_h = a s_(h-1) + c n_h`` with ``a = rho · shift`` is solved in
        closed form over the block, ``s_h = a^h (s_0 + Σ_k≤h a^-k c n_k)``, so a day costs a
        few array operations instead of a Python loop over its hours."""
        from scipy import fft

        u, v = wind_kmh
        spectra = np.zeros((hours, self.full), dtype=np.complex64)  # float32 FFT: 2× faster
        for i, (keep, amp, rho, weight, kxs, kys) in enumerate(self.parts):
            a = rho * np.exp(-2j * np.pi * (kxs * u - kys * v))
            powers = np.cumprod(np.broadcast_to(a, (hours, a.size)), axis=0)
            noise = np.sqrt(1 - rho**2) * self._noise(amp, hours)
            states = powers * (self.state[i][None, :] + np.cumsum(noise / powers, axis=0))
            self.state[i] = states[-1]
            spectra[:, keep] += weight * states
        spectra = spectra.reshape(hours, self.ny, self.nx // 2 + 1)
        z = fft.irfft2(spectra, s=(self.ny, self.nx), axes=(-2, -1))
        return z[:, : self.shape[0], : self.shape[1]]


def month_starts(start_year: int, years: int) -> list[datetime]:
    return [datetime(start_year + y, m, 1, tzinfo=UTC) for y in range(years) for m in range(1, 13)]


def month_hours(month: datetime) -> Iterator[datetime]:
    """The hour ends (UTC) of a month's hours: (start, start+1h] … up to the next month."""
    nxt = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    t = month + HOUR
    while t <= nxt:
        yield t
        t += HOUR


def month_fields(
    spec: GridSpec, seed: int, month: datetime, block: int = 72
) -> Iterator[tuple[list[datetime], np.ndarray]]:
    """The month's hourly rain (mm, float32, north-up) in blocks of ``block`` hours (the
    steering wind is held for a block; 72 h keeps the closed-form AR(1) well conditioned)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, month.year, month.month]))
    fields = _Fields(spec, rng)
    fields.block(48, (0.0, 0.0))  # spin up: the AR(1) state reaches its stationary spread
    hours = list(month_hours(month))
    for i in range(0, len(hours), block):
        ends = hours[i : i + block]
        season = np.array(
            [
                _season((e - datetime(e.year, 1, 1, tzinfo=UTC)).total_seconds() / 86400)
                for e in ends
            ]
        )
        mid = float(season.mean())
        z = fields.block(len(ends), (12.0 + 8.0 * (1 - mid), 3.0 * mid))  # westerlies, monsoon
        s = season[:, None, None]
        excess = np.maximum(z - (1.7 - 0.8 * s), 0.0)
        severity = np.exp(0.5 * rng.standard_normal() - 0.125)  # the block's storm system
        rain = severity * np.where(
            excess > 0, (1.5 + 1.5 * s) * np.expm1((0.8 + 0.55 * s) * excess), 0.0
        )
        yield ends, np.round(rain, 1).astype(np.float32)


def buffered_fields(
    spec: GridSpec, seed: int, month: datetime, max_bytes: int = 64 * 2**20
) -> Iterator[tuple[list[datetime], np.ndarray]]:
    """The month's blocks joined up to ``max_bytes`` (few large writes, bounded memory)."""
    ends: list[datetime] = []
    parts: list[np.ndarray] = []
    size = 0
    for e, values in month_fields(spec, seed, month):
        if parts and size + values.nbytes > max_bytes:
            yield ends, np.concatenate(parts)
            ends, parts, size = [], [], 0
        ends += e
        parts.append(values)
        size += values.nbytes
    if parts:
        yield ends, np.concatenate(parts)


def _hours_since_epoch(times: list[datetime]) -> np.ndarray:
    return np.array([(t - EPOCH).total_seconds() / 3600 for t in times], dtype=np.float64)


def write_netcdf_month(spec: GridSpec, seed: int, month: datetime, path: Path) -> Path:
    """One month as CF-NetCDF-4 (precipitation_amount in mm, time bounds, time: sum)."""
    import netCDF4

    ny, nx = spec.shape
    n_hours = sum(1 for _ in month_hours(month))
    tmp = path.with_name(f".{path.name}.tmp")
    with netCDF4.Dataset(tmp, "w", format="NETCDF4") as nc:
        nc.Conventions = "CF-1.8"
        nc.title = "riskmap synthetic hourly rainfall (not observations)"
        nc.source = f"riskmap.geo.archive.synth seed={seed}"
        nc.createDimension("time", n_hours)
        nc.createDimension("bnds", 2)
        nc.createDimension("lat", ny)
        nc.createDimension("lon", nx)
        lat = nc.createVariable("lat", "f8", ("lat",))
        lat.standard_name, lat.units, lat.axis = "latitude", "degrees_north", "Y"
        lat[:] = spec.lats()
        lon = nc.createVariable("lon", "f8", ("lon",))
        lon.standard_name, lon.units, lon.axis = "longitude", "degrees_east", "X"
        lon[:] = spec.lons()
        time = nc.createVariable("time", "f8", ("time",))
        time.standard_name, time.units, time.calendar = "time", "hours since 1970-01-01", "standard"
        time.axis, time.bounds = "T", "time_bnds"
        bnds = nc.createVariable("time_bnds", "f8", ("time", "bnds"))
        var = nc.createVariable(
            VARIABLE,
            "f4",
            ("time", "lat", "lon"),
            zlib=True,
            complevel=1,
            shuffle=True,
            chunksizes=(24, ny, nx),
            fill_value=np.float32(-9999.0),
        )
        var.standard_name, var.units = "precipitation_amount", "mm"
        var.long_name = "hourly precipitation amount (synthetic)"
        var.cell_methods = "time: sum"
        i = 0
        for ends, values in buffered_fields(spec, seed, month):
            hrs = _hours_since_epoch(ends)
            time[i : i + len(ends)] = hrs
            bnds[i : i + len(ends), :] = np.column_stack([hrs - 1, hrs])
            var[i : i + len(ends)] = values
            i += len(ends)
    tmp.replace(path)
    return path


def write_zarr_month(spec: GridSpec, seed: int, month: datetime, store: Path) -> None:
    """Append one month to a Zarr store (created by the first month), CF attributes as NetCDF."""
    import xarray as xr

    for ends, values in buffered_fields(spec, seed, month):
        hrs = _hours_since_epoch(ends)
        ds = xr.Dataset(
            {
                VARIABLE: (
                    ("time", "lat", "lon"),
                    values,
                    {
                        "standard_name": "precipitation_amount",
                        "units": "mm",
                        "cell_methods": "time: sum",
                    },
                ),
                "time_bnds": (("time", "bnds"), np.column_stack([hrs - 1, hrs])),
            },
            coords={
                "time": (
                    "time",
                    hrs,
                    {"standard_name": "time", "units": "hours since 1970-01-01",
                     "calendar": "standard", "bounds": "time_bnds", "axis": "T"},
                ),
                "lat": ("lat", spec.lats(), {"standard_name": "latitude",
                                             "units": "degrees_north"}),
                "lon": ("lon", spec.lons(), {"standard_name": "longitude",
                                             "units": "degrees_east"}),
            },
        )  # fmt: skip
        if (store / "zarr.json").exists() or (store / ".zgroup").exists():
            ds.to_zarr(store, append_dim="time", consolidated=False)
        else:
            enc = {VARIABLE: {"chunks": (24, *spec.shape)}}
            ds.to_zarr(store, mode="w", encoding=enc, consolidated=False)


def generate(
    spec: GridSpec,
    start_year: int,
    years: int,
    seed: int,
    out: Path,
    fmt: str = "netcdf",
    progress=None,
    months: int | None = None,
) -> list[Path]:
    """Write the archive: one NetCDF file per month (``rain_YYYYMM.nc``) or one Zarr store;
    ``months`` stops after that many months (benchmarks, tests)."""
    if fmt not in ("netcdf", "zarr"):
        raise ValueError(f"format must be netcdf or zarr, got {fmt!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    store = out / "rain.zarr"
    for month in month_starts(start_year, years)[:months]:
        if fmt == "netcdf":
            written.append(write_netcdf_month(spec, seed, month, out / f"rain_{month:%Y%m}.nc"))
        else:
            write_zarr_month(spec, seed, month, store)
        if progress is not None:
            progress(month)
    return written if fmt == "netcdf" else [store]
