"""JupyterLab for the UI tests (start-jupyterlab.sh sets the throwaway store).

Never use this configuration in production: it turns authentication off and
exposes JupyterLab's objects to the page.
"""

import os

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821 - the config object
c.ServerApp.port = int(os.environ.get("PIPELINE_UI_PORT", "8877"))  # noqa: F821
