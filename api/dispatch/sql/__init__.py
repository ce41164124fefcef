"""The dispatcher's SQL files."""

from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.api.dispatch.sql")
