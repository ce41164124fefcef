"""Terrain analysis on a north-up lon/lat DEM: reading and writing it, slope, D8 flow routing,
river channels and height above drainage.

Domain code used by the risk maps (``riskmap.geo.risk``) on real DEMs; the demo generator only
adds the synthetic relief (``riskmap.geo.demo.relief``).
"""
