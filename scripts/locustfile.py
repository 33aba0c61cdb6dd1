"""The simulated customers of `make load` (scripts/load.py starts locust with this file).

    locust -f scripts/locustfile.py --headless -u 200 -r 40 -t 50s --host http://127.0.0.1:PORT

Environment: ``LOAD_CONFIG`` (a JSON file the load script writes: one credential set per customer,
the submit payloads made from ../shared/data/requests.jsonl, the site's origin) and ``LOAD_RESULT``
(where this file writes what the clients saw: response times and status codes per endpoint, and
every submit that was acknowledged, with the ETA it was promised).

A customer looks around for a few seconds, asks for a design (the API, or the studio's form with
its CSRF token), then watches it: the HTMX job card (``HX-Request``) and the API detail, every 1 to
2 seconds, until it is finished; looks at the result for a while; and asks for another.
"""

import itertools
import json
import os
import random
import re
import time
from pathlib import Path

from locust import FastHttpUser, events, task

CONFIG = json.loads(Path(os.environ["LOAD_CONFIG"]).read_text())
RESULT_PATH = Path(os.environ["LOAD_RESULT"])
TERMINAL = {"succeeded", "failed", "rejected", "cancelled"}
STUDIO_SHARE = 0.3  # submits through the studio's form; the rest through the API
CARD_ID = re.compile(r'id="job-([0-9a-f-]{36})"')
CARD_STATUS = re.compile(r'data-status="([a-z_]+)"')
CARD_PACE = re.compile(r'hx-trigger="every (\d+)s"')

_customer_ids = itertools.count()
_started = time.monotonic()
_endpoints: dict[str, dict] = {}
_submits: list[dict] = []


@events.request.add_listener
def _record(request_type, name, response_time, response_length, response=None, exception=None, **kwargs):
    """Every answer's status; the response time of those that were not throttled (429s apart)."""
    code = getattr(response, "status_code", 0) or 0
    entry = _endpoints.setdefault(name, {"times_ms": [], "statuses": {}})
    entry["statuses"][str(code)] = entry["statuses"].get(str(code), 0) + 1
    if code and code != 429:
        entry["times_ms"].append(round(response_time, 2))


@events.quitting.add_listener
def _write_result(environment, **kwargs):
    RESULT_PATH.write_text(
        json.dumps(
            {"duration_s": time.monotonic() - _started, "endpoints": _endpoints, "submits": _submits},
            separators=(",", ":"),
        )
    )


class Customer(FastHttpUser):
    """One customer of the shop, logged in (a session for the studio, a token for the API)."""

    def on_start(self):
        me = CONFIG["customers"][next(_customer_ids) % len(CONFIG["customers"])]
        self.username = me["username"]
        self.api_headers = {"Authorization": f"Token {me['token']}", "X-Forwarded-Proto": "https"}
        # As behind the TLS proxy: the session and CSRF cookies are Secure, so they are sent by hand.
        self.browser_headers = {
            "Cookie": f"sessionid={me['sessionid']}; csrftoken={me['csrftoken']}",
            "X-Forwarded-Proto": "https",
        }
        self.csrftoken = me["csrftoken"]
        self.job = None
        self.pause = random.uniform(1, 10)  # looks around the catalogue first

    def wait_time(self):
        return self.pause

    @task
    def step(self):
        if self.job is None:
            self.submit()
        else:
            self.poll()

    def _payload(self) -> dict:
        payload = dict(random.choice(CONFIG["payloads"]))
        payload["seed"] = random.randrange(2**32)  # the reconciliation finds duplicates by (customer, seed)
        return payload

    def submit(self):
        payload = self._payload()
        if random.random() < STUDIO_SHARE:
            self._submit_studio(payload)
        else:
            self._submit_api(payload)
        self.pause = random.uniform(1, 2)

    def _acknowledged(self, *, job_id: str, via: str, payload: dict, eta):
        self.job = job_id
        _submits.append(
            {
                "id": job_id,
                "via": via,
                "username": self.username,
                "seed": payload["seed"],
                "eta_seconds": eta,
                "at": time.time(),
            }
        )

    def _submit_api(self, payload: dict):
        with self.client.post(
            "/api/v1/generations/",
            json=payload,
            headers=self.api_headers,
            name="submit api",
            catch_response=True,
        ) as response:
            if response.status_code == 202:
                body = response.json()
                self._acknowledged(job_id=body["id"], via="api", payload=payload, eta=body.get("eta_seconds"))
                response.success()
            elif response.status_code in (422, 429):
                response.success()  # a policy refusal or a throttle: counted apart, not an error
            else:
                response.failure(f"{response.status_code}")

    def _submit_studio(self, payload: dict):
        headers = {
            **self.browser_headers,
            "HX-Request": "true",
            "X-CSRFToken": self.csrftoken,
            "Origin": CONFIG["origin"],
            "Referer": f"{CONFIG['origin']}/personalize/",
        }
        form = {key: str(value) for key, value in payload.items()}
        with self.client.post(
            "/personalize/", data=form, headers=headers, name="submit studio", catch_response=True
        ) as response:
            found = CARD_ID.search(response.text or "") if response.status_code in (200, 201) else None
            if found:
                self._acknowledged(job_id=found.group(1), via="studio", payload=payload, eta=None)
                response.success()
            elif response.status_code in (422, 429):
                response.success()
            else:
                response.failure(f"{response.status_code}")

    def poll(self):
        """The job card and the API detail in turn, as a customer with the page open and an app would."""
        if random.random() < 0.5:
            headers = {**self.browser_headers, "HX-Request": "true"}
            with self.client.get(
                f"/personalize/jobs/{self.job}/", headers=headers, name="status job card", catch_response=True
            ) as response:
                found = CARD_STATUS.search(response.text or "")
                status = found.group(1) if found and response.status_code in (200, 286) else None
                told = CARD_PACE.search(response.text or "")
                pace = int(told.group(1)) if told else 1
                if response.status_code in (200, 286):
                    response.success()
                else:
                    response.failure(f"{response.status_code}")
        else:
            with self.client.get(
                f"/api/v1/generations/{self.job}/",
                headers=self.api_headers,
                name="status api",
                catch_response=True,
            ) as response:
                body = response.json() if response.status_code == 200 else {}
                status = body.get("status")
                pace = body.get("poll_after_seconds") or 1
                if response.status_code == 200:
                    response.success()
                else:
                    response.failure(f"{response.status_code}")
        if status in TERMINAL:
            self.job = None
            self.pause = random.uniform(10, 30)  # looks at the design, then asks for another
        else:
            # As told: the card's hx-trigger ("every N s"), the API's poll_after_seconds (1 s while
            # running, about a tenth of the ETA while queued, at most 10 s), plus up to a second.
            self.pause = random.uniform(pace, pace + 1)
