"""GRIB 1 and 2 rainfall grids, read through cfgrib and ecCodes for the ``rain-grid`` feed.

No feed is registered here: the ``rain-grid`` feed claims files starting with ``GRIB`` and
asks :func:`.read.read_grib` for their rain (:mod:`.messages` decides which messages are read
and why others are refused; :mod:`.read` turns them into per-period amounts in mm). ecCodes
comes with the ``eccodes`` wheel (its ``eccodeslib`` binary), so nothing is installed with apt.
"""
