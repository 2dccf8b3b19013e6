"""The Flask application: check-in pages, the JSON API, /healthz."""

from __future__ import annotations

from flask import Flask, jsonify
from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Response

from heupreminder.reports.web import history
from heupreminder.web.api import api
from heupreminder.web.context import WebContext
from heupreminder.web.pages import pages


def create_app(context: WebContext) -> Flask:
    app = Flask(__name__)
    app.extensions["heupreminder"] = context
    app.register_blueprint(pages)
    app.register_blueprint(api)
    app.register_blueprint(history)  # /h/<token>: the person's progress and chart

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        healthy, details = context.health()
        return jsonify(status="ok" if healthy else "unhealthy", **details), 200 if healthy else 503

    @app.get("/metrics")
    def metrics() -> Response:
        from heupreminder.ops.metrics import render

        return Response(render(context.sessions), mimetype="text/plain; version=0.0.4")

    @app.errorhandler(OperationalError)  # connection refused, lost, timed out
    def database_unreachable(_error: Exception) -> tuple[Response, int]:
        # The transaction was rolled back, so nothing was written: retrying is safe.
        response = jsonify(error="the database is unreachable; try again in a minute")
        response.headers["Retry-After"] = "30"
        return response, 503

    @app.after_request
    def no_caching(response: Response) -> Response:
        # Pages carry personal data and signed links: keep them out of caches.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return app
