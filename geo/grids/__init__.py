"""Rainfall grids (QPE analyses, QPF forecasts) as the domain reads and uses them.

Reading CF-NetCDF and GeoTIFF files into periods of rain in mm (``netcdf``, ``geotiff``, with
``tags``, ``units`` and ``model``) and writing each village's rain of a period
(``village_rain``) live here, not in the ingest feed, because the tile server reads grids too
and must not pull in (and register) the feed to do so. The feed
(:mod:`riskmap.ingest.feeds.grids`) sniffs files, catalogues them and calls these.
"""
