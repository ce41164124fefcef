"""MICAPS, the Chinese forecasters' exchange format: type 4 rain grids.

Type 4 grids (``diamond 4``) are rain grids: the ``rain-grid`` feed claims them and reads them
with :mod:`.grid4`. The text, header time (Beijing → UTC) and accumulation rules are in
:mod:`.header`.
"""
