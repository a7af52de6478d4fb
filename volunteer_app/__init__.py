"""The application factory: reads like a table of contents of the app."""

from __future__ import annotations

from flask import Flask

from config import Config, ProductionConfig, config_from_env


def create_app(config: type[Config] | None = None, **overrides) -> Flask:
    config = config or config_from_env()
    if config is ProductionConfig:
        ProductionConfig.check()
    app = Flask(__name__, template_folder="../templates", instance_relative_config=False)
    app.config.from_object(config)
    app.config.update(overrides)
    _ensure_sqlite_folder(app.config["SQLALCHEMY_DATABASE_URI"])

    # Here, not at the top: importing any volunteer_app module runs this file, and a
    # migration or a CLI helper that needs one model must not load every blueprint.
    from volunteer_app import web

    web.register_extensions(app)
    web.register_blueprints(app)
    web.register_listeners(app)
    web.register_cli(app)
    web.register_template_helpers(app)
    web.register_error_handlers(app)
    web.register_input_checks(app)
    web.register_security_headers(app)
    web.trust_reverse_proxies(app)
    web.register_transactions(app)
    return app


def _ensure_sqlite_folder(url: str) -> None:
    """The embedded database lives under instance/, which a fresh clone does not have."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
