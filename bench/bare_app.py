"""The yardstick: a bare Flask route, served by the same gunicorn settings in the same run.

Every row of the benchmark is reported as a ratio to this app's requests per second, so the
numbers say what our code costs on top of what this machine can do at all.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "hello"
