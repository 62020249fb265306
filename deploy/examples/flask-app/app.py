"""The seed's example app: a small Flask web app on port 8080, with a health endpoint for `deploy`."""

import os

from flask import Flask

app = Flask(__name__)
VERSION = os.environ.get("APP_VERSION", "dev")


@app.get("/")
def index() -> str:
    return f"Hello from the dockbolt example app ({VERSION})!\n"


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok", "version": VERSION}


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8080)  # noqa: S104 (inside its container)
