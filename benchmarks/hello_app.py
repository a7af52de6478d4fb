"""A Flask hello world: the ceiling the load benchmark (benchmarks/http_load.py) measures the
app's pages against, served by gunicorn under the same settings."""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    return "Hello, World!"
