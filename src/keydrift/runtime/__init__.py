"""Runtime faces of keydrift: the ASGI middleware and fingerprint endpoint, and the live probe.

Nothing here is imported by ``import keydrift``; :mod:`keydrift.runtime.asgi` needs no third-party
package, :mod:`keydrift.runtime.probe` needs the ``probe`` extra (httpx, websockets).
"""
