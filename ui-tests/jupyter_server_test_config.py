"""JupyterLab for the UI tests (start-jupyterlab.sh sets the throwaway store).

Never use this configuration in production: it turns authentication off, lets
every request say who it is, and exposes JupyterLab's objects to the page.
"""

import getpass
import os

from jupyter_server.auth.identity import IdentityProvider, User
from jupyterlab.galata import configure_jupyter_server

#: The header a test sets (Playwright's ``extraHTTPHeaders``) to act as another user.
TEST_USER_HEADER = "X-Pipeline-Test-User"


class HeaderIdentityProvider(IdentityProvider):
    """Every request acts as the user its ``X-Pipeline-Test-User`` header names, by
    default the one running the server (who owns the default project), so one test
    can play several users (like tests/conftest.py's provider, without the token)."""

    def get_user(self, handler):
        name = handler.request.headers.get(TEST_USER_HEADER) or getpass.getuser()
        return User(username=name, name=name, display_name=name)


configure_jupyter_server(c)  # noqa: F821 - the config object
c.ServerApp.port = int(os.environ.get("PIPELINE_UI_PORT", "8877"))  # noqa: F821
c.ServerApp.identity_provider_class = HeaderIdentityProvider  # noqa: F821
