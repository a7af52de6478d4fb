"""Flask extensions, created unbound; `create_app` binds them."""

from typing import TYPE_CHECKING

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from volunteer_app.core.db import Base

db = SQLAlchemy(model_class=Base)
# The models' base class. mypy cannot take an attribute (`db.Model`) as a base class, so it is
# shown the declarative base that `db.Model` is built from; at run time it is `db.Model`.
if TYPE_CHECKING:

    class Model(Base):
        __abstract__ = True

else:
    Model = db.Model
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Brakes on password guessing and reset-mail flooding, keyed on the client's address (which
# ProxyFix makes the real client's behind a reverse proxy; see TRUSTED_PROXY_COUNT). Storage
# and limits come from config.py.
limiter = Limiter(key_func=get_remote_address)
