"""Sending requests to the app the way Slack does: signed, timed, and retried.

The signature is computed here by hand (not with slack_sdk's verifier) so that a test checking
it with `SignatureVerifier` really compares two implementations of Slack's scheme.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tests.emulators.slack.records import Delivery
from tests.emulators.slack.workspace import Workspace

USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature: HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class DeliveryPolicy:
    """Slack waits 3 s for a 2xx, then retries an event up to 3 times (tests shorten the waits)."""

    timeout: float = 3.0
    max_retries: int = 3
    retry_delays: tuple[float, ...] = field(default=(0.0, 0.0, 0.0))


@dataclass
class _Answer:
    status: int | None
    body: str
    failure: str | None
    no_retry: bool


@dataclass
class AppEndpoint:
    """The app as Slack knows it: one request URL and signing secret for every workspace."""

    signing_secret: str
    app_url: str | None = None
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)


class AppDeliverer:
    """Sends one workspace's requests to the app (and records them in that workspace)."""

    def __init__(
        self, workspace: Workspace, signing_secret: str, endpoint: AppEndpoint | None = None
    ) -> None:
        self.workspace = workspace
        self.endpoint = endpoint or AppEndpoint(signing_secret)

    def for_workspace(self, workspace: Workspace) -> AppDeliverer:
        """A deliverer for another workspace of the same app: same URL, secret and policy."""
        return AppDeliverer(workspace, self.endpoint.signing_secret, self.endpoint)

    @property
    def signing_secret(self) -> str:
        return self.endpoint.signing_secret

    @property
    def app_url(self) -> str | None:
        return self.endpoint.app_url

    @app_url.setter
    def app_url(self, url: str | None) -> None:
        self.endpoint.app_url = url

    @property
    def policy(self) -> DeliveryPolicy:
        return self.endpoint.policy

    def send(
        self, *, kind: str, key: str, body: bytes, content_type: str, retry: bool
    ) -> list[Delivery]:
        """POST `body` to the app, retrying like the Events API when `retry`; every try recorded."""
        if not self.app_url:
            raise RuntimeError("set slack.app_url to the app's request URL first")
        attempts: list[Delivery] = []
        reason: str | None = None
        tries = 1 + (self.policy.max_retries if retry else 0)
        for retry_num in range(tries):
            if retry_num:
                delays = self.policy.retry_delays or (0.0,)
                time.sleep(delays[min(retry_num - 1, len(delays) - 1)])
            headers = self._headers(body, content_type, retry_num, reason)
            started = time.time()
            clock = time.monotonic()
            answer = self._post(self.app_url, body, headers)
            record = Delivery(
                kind=kind,
                key=key,
                retry_num=retry_num,
                started_at=started,
                latency=time.monotonic() - clock,
                status=answer.status,
                response_body=answer.body,
                failure=answer.failure,
                headers=headers,
                body=body.decode("utf-8"),
            )
            attempts.append(record)
            with self.workspace.lock:
                self.workspace.deliveries.append(record)
                self.workspace.notify()
            if answer.failure is None or answer.no_retry:
                break
            reason = answer.failure
        return attempts

    def _headers(
        self, body: bytes, content_type: str, retry_num: int, reason: str | None
    ) -> dict[str, str]:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": content_type,
            "User-Agent": USER_AGENT,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign(self.signing_secret, timestamp, body),
        }
        if retry_num:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = reason or "unknown_error"
        return headers

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> _Answer:
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port or 80, timeout=self.policy.timeout
        )
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
        except TimeoutError:
            return _Answer(None, "", "http_timeout", False)
        except OSError:
            return _Answer(None, "", "connection_failed", False)
        except http.client.HTTPException:
            return _Answer(None, "", "unknown_error", False)
        finally:
            connection.close()
        no_retry = response.getheader("X-Slack-No-Retry") == "1"
        failure = None if 200 <= response.status < 300 else "http_error"
        return _Answer(response.status, text, failure, no_retry)
