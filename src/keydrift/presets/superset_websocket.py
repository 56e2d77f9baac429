"""Superset's websocket server: verifies async-query tokens with ``jwtSecret`` from its
``config.json`` (or ``JWT_SECRET``), which must equal Superset's
``GLOBAL_ASYNC_QUERIES_JWT_SECRET``. Sources: apache/superset ``superset-websocket/README.md``
and ``config.example.json``."""

from __future__ import annotations

from keydrift.presets.interface import Preset
from keydrift.presets.superset import ASYNC_QUERIES_SPEC


class SupersetWebsocket(Preset):
    id = "superset_websocket"
    title = "Superset websocket server"
    spec = ASYNC_QUERIES_SPEC
    image_patterns = ("apache/superset-websocket", "superset-websocket", "*/superset-websocket")
    unset_behaviour = (
        "the websocket server cannot verify the async-query tokens Superset issues, so clients "
        "never receive query results over the websocket"
    )
    must_share = True
    generates_when_unset = False
    docs_url = "https://github.com/apache/superset/tree/master/superset-websocket"
