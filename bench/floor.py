"""The ack-latency floor: verify Slack's HMAC and enqueue the same job with RQ directly — no Bolt.

A stdlib ThreadingHTTPServer is used on purpose: the floor is the least work any correct bot must do.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from dockbolt.console.slash_client import signature
from dockbolt.core.contract import JOB_FUNC, JobRequest, new_job_id


def start_floor_server(secret: str, redis: Redis, queue: str) -> tuple[ThreadingHTTPServer, str]:
    """Serve the floor on 127.0.0.1:0 in a thread; return (server, url)."""
    q = Queue(queue, connection=redis, serializer=JSONSerializer)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ts = self.headers.get("X-Slack-Request-Timestamp", "0")
            want = signature(secret, ts, body)
            if abs(time.time() - int(ts)) > 300 or not hmac.compare_digest(
                    want, self.headers.get("X-Slack-Signature", "")):
                self.send_response(401)
                self.end_headers()
                return
            form = dict(urllib.parse.parse_qsl(body.decode()))
            job = JobRequest(job_id=new_job_id(), verb="ps", args={"all": False, "filters": {}},
                             user_id=form["user_id"], channel_id=form["channel_id"],
                             command_text=form["text"])
            q.enqueue(JOB_FUNC, job.to_dict(), job_id=job.job_id)
            out = json.dumps({"text": f"accepted as job {job.job_id}"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/slack/events"
