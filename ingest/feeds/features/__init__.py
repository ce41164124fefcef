"""Reading feature records that several feeds share: bilingual field names (Chinese or English
columns), GeoJSON, CSV headers, geometry checks and CRS (CGCS2000 and its projections → WGS 84).

The geohazard and fire feeds both read such records; this package registers no feed.
"""
