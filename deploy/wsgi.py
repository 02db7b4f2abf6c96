"""The WSGI entry point of a production server: the app behind one trusted reverse proxy.

nginx (deploy/nginx/casework.conf) sets X-Forwarded-For to the client's address and
X-Forwarded-Proto to https. ProxyFix believes exactly CASEWORK_PROXIES such hops (default 1), so
the sign-in throttle (30 failures from one address) and the audit log's client address see the
real client, not nginx's 127.0.0.1, and a client cannot forge its address past the proxy: nginx
overwrites the header rather than appending to it. Without a proxy in front (a test, the load
benchmark), set CASEWORK_PROXIES=0 or send no such headers.
"""

import os

from werkzeug.middleware.proxy_fix import ProxyFix

from casework import create_app

app = create_app()
_hops = int(os.environ.get("CASEWORK_PROXIES", "1"))
if _hops:
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=_hops, x_proto=_hops)  # type: ignore[method-assign]
