"""The use cases, each call naming the acting user: data sources, projects and their
folders, tasks and their schedule configuration (submit and publish follow)."""

from .datasources import DataSourceError, DataSourceInfo, DataSourceService, parse_url
from .projects import FolderInfo, FolderNode, ProjectInfo, ProjectService, TaskLeaf
from .schedule import ScheduleConfig, schedule_json_schema
from .tasks import TaskInfo, TaskService
from .users import User

__all__ = [
    "DataSourceError",
    "DataSourceInfo",
    "DataSourceService",
    "FolderInfo",
    "FolderNode",
    "ProjectInfo",
    "ProjectService",
    "ScheduleConfig",
    "TaskInfo",
    "TaskLeaf",
    "TaskService",
    "User",
    "parse_url",
    "schedule_json_schema",
]
