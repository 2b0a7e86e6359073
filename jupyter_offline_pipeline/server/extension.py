"""The server extension app: configuration, one Store and its services, the routes.

Enabled by ``jupyter-config/jupyter_server_config.d/jupyter_offline_pipeline.json``, so
``pip install`` is the whole install. Configure it as ``c.OfflinePipelineApp.<trait>``.
"""

from __future__ import annotations

import getpass
import os
from concurrent.futures import ThreadPoolExecutor

from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider
from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Enum, Int, Set, Unicode, default

from ..crypto import KEY_ENV, SecretBox
from ..scheduler.planner import CATCH_UP_POLICIES
from ..scheduler.scheduler import Scheduler
from ..service.users import User
from ..store import Store, data_dir, default_db_url
from .handlers import SETTINGS_KEY, Pipeline, routes

# Jupyter's own providers give every request of a shared token a fresh anonymous name:
# under them the server's single user, the account running it, owns everything.
_SHARED_TOKEN_PROVIDERS = (IdentityProvider, PasswordIdentityProvider)


class OfflinePipelineApp(ExtensionApp):
    name = "jupyter_offline_pipeline"
    description = "Offline pipeline scripts: data sources, tasks, versions, lineage over REST."

    db_url = Unicode(
        help="The store's SQLAlchemy URL, shared with the command line and the scheduler. "
        "Default: pipeline.db in the Jupyter data directory (or $JUPYTER_PIPELINE_DB_URL).",
    ).tag(config=True)
    encryption_key = Unicode(
        help=f"Fernet key sealing data source credentials. Default: ${KEY_ENV}, else a key "
        "file created beside the default store.",
    ).tag(config=True)
    admin_users = Set(
        Unicode(), help="Users who may act on every data source, project and task.",
    ).tag(config=True)
    mode = Enum(
        ["basic", "dev_prod"], "basic", help="The mode of projects created without one.",
    ).tag(config=True)
    run_scheduler = Bool(
        True, help="Run the scheduler inside this server. Turn it off where `jupyter pipeline "
        "scheduler` runs it on the same store (JupyterHub: user servers stop, the daemon does not).",
    ).tag(config=True)
    max_workers = Int(
        4, help="Worker processes running instances at once; the rest wait as waiting_resources.",
    ).tag(config=True)
    catch_up = Enum(
        list(CATCH_UP_POLICIES), "run", help="Runs that came due while no scheduler ran: run them, "
        "or record them as not_run (skip).",
    ).tag(config=True)
    log_dir = Unicode(
        help="Where instance logs go (default: logs/ beside the default store).",
    ).tag(config=True)
    api_threads = Int(
        8, help="Threads running the blocking service calls (database, introspection, "
        "validation) off the server's event loop.",
    ).tag(config=True)

    @default("db_url")
    def _default_db_url(self) -> str:
        return default_db_url()

    @default("encryption_key")
    def _default_encryption_key(self) -> str:
        return os.environ.get(KEY_ENV, "")

    def initialize_settings(self) -> None:
        store = Store(self.db_url)
        secrets = (SecretBox(self.encryption_key) if self.encryption_key
                   else SecretBox.from_environment(data_dir() / "secret.key"))
        local_user = (getpass.getuser()
                      if type(self.serverapp.identity_provider) in _SHARED_TOKEN_PROVIDERS else None)
        executor = ThreadPoolExecutor(self.api_threads, thread_name_prefix="offline-pipeline")
        pipeline = Pipeline.build(store, secrets, admin_users=frozenset(self.admin_users),
                                  mode=self.mode, local_user=local_user, executor=executor)
        # the default project is there from the first start, its owner whoever runs the server
        pipeline.projects.ensure_default(User(local_user or getpass.getuser()))
        if self.run_scheduler:
            pipeline.scheduler = Scheduler(store, secrets, max_workers=self.max_workers, catch_up=self.catch_up,
                                           log_dir=self.log_dir or None)
            pipeline.scheduler.start()
        self.settings[SETTINGS_KEY] = pipeline
        self.log.info("offline pipeline store: %s", store.engine.url.render_as_string())

    def initialize_handlers(self) -> None:
        self.handlers.extend(routes())

    async def stop_extension(self) -> None:
        pipeline: Pipeline | None = self.settings.get(SETTINGS_KEY)
        if pipeline is not None:
            if pipeline.scheduler is not None:
                pipeline.scheduler.stop()
            pipeline.executor.shutdown(wait=False, cancel_futures=True)
            pipeline.store.dispose()
