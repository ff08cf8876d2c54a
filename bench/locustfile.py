"""Load profile: AEs and CSMs working their queue (queue, EQL page, htmx note action).

Run through ``bench/load.sh`` (never collected by pytest: locust patches networking with gevent).
FastHttpUser (geventhttpclient) keeps the load generator's own CPU small: it shares the two cores
with gunicorn and PostgreSQL.
Every posted action carries a unique note; ``load.sh`` checks afterwards that each one that was
answered 200 is in the activity log.
"""

from __future__ import annotations

import os
import random
import re
import uuid
from http.cookiejar import Cookie
from pathlib import Path

from locust import FastHttpUser, between, events, task

SESSIONS = Path(os.environ["LOAD_SESSIONS_FILE"]).read_text().split()
POSTED_FILE = Path(os.environ.get("LOAD_POSTED_FILE", "/tmp/load-posted.txt"))
EQL_LINK = re.compile(r'href="/eqls/(\d+)/"')
posted: list[str] = []


def _cookie(name: str, value: str) -> Cookie:
    return Cookie(
        0, name, value, None, False, "127.0.0.1", True, False, "/", True, False, None, False, None, None, {}
    )


class RevenueRep(FastHttpUser):
    wait_time = between(0.5, 2.0)

    def on_start(self):
        # Already signed in (load.sh made the sessions); the first queue view sets the CSRF cookie.
        self.client.cookiejar.set_cookie(_cookie("sessionid", random.choice(SESSIONS)))
        self.eqls: list[str] = []
        self.queue()

    def _csrf(self) -> str:
        return next((c.value for c in self.client.cookiejar if c.name == "csrftoken"), "")

    @task(5)
    def queue(self):
        with self.client.get("/", name="queue", catch_response=True) as response:
            if 'aria-label="EQLs"' not in (response.text or ""):
                response.failure("not the signed-in queue")
                return
            self.eqls = EQL_LINK.findall(response.text) or self.eqls

    @task(2)
    def queue_filtered(self):
        self.client.get(
            "/?route=ae&priority=high", name="queue (htmx filter)", headers={"HX-Request": "true"}
        )

    @task(4)
    def eql_page(self):
        if self.eqls:
            self.client.get(f"/eqls/{random.choice(self.eqls)}/", name="EQL page")

    @task(2)
    def add_note(self):
        if not self.eqls:
            return
        eql = random.choice(self.eqls)
        note = f"load-{uuid.uuid4().hex}"
        with self.client.post(
            f"/eqls/{eql}/events/",
            {"type": "note", "note": note},
            headers={
                "HX-Request": "true",
                "X-CSRFToken": self._csrf(),
                "Referer": f"{self.host}/eqls/{eql}/",
            },
            name="htmx note",
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                posted.append(note)
                response.success()
            else:
                response.failure(f"status {response.status_code}")


@events.test_stop.add_listener
def _write_posted(**_kwargs):
    POSTED_FILE.write_text("\n".join(posted))
