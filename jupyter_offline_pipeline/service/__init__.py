"""The use cases, each call naming the acting user: data sources (tasks, submit and
publish follow with the server)."""

from .datasources import DataSourceError, DataSourceInfo, DataSourceService, parse_url

__all__ = ["DataSourceError", "DataSourceInfo", "DataSourceService", "parse_url"]
