"""The WSGI entry point for production servers: `gunicorn -c python:web.gunicorn_conf`.

Each gunicorn worker imports this module after the fork, so every worker has its own app
and connection pool (web/gunicorn_conf.py keeps `preload_app` off for that reason).
"""

from web import create_app

app = create_app()
