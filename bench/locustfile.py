"""Load profile: AEs and CSMs working their queue (queue, EQL page, htmx note action).

Run through ``bench/load.sh`` (never collected by pytest: locust patches networking with gevent).
Every posted action carries a unique note; ``load.sh`` checks afterwards that each one that was
answered 200 is in the activity log.
"""

from __future__ import annotations

import os
import random
import re
import uuid
from pathlib import Path

from locust import HttpUser, between, events, task

USERS = [line.strip() for line in Path(os.environ["LOAD_USERS_FILE"]).read_text().split() if line.strip()]
PASSWORD = os.environ.get("LOAD_PASSWORD", "load-test-2026")
POSTED_FILE = Path(os.environ.get("LOAD_POSTED_FILE", "/tmp/load-posted.txt"))
EQL_LINK = re.compile(r'href="/eqls/(\d+)/"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
posted: list[str] = []


class RevenueRep(HttpUser):
    wait_time = between(0.5, 2.0)

    def on_start(self):
        self.email = random.choice(USERS)
        page = self.client.get("/login/", name="login page")
        token = CSRF.search(page.text).group(1)
        self.client.post(
            "/login/",
            {"username": self.email, "password": PASSWORD, "csrfmiddlewaretoken": token},
            name="login",
            headers={"Referer": f"{self.host}/login/"},
        )
        self.eqls: list[str] = []

    def _csrf(self) -> str:
        return self.client.cookies.get("csrftoken", "")

    @task(5)
    def queue(self):
        response = self.client.get("/", name="queue")
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
