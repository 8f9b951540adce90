"""A small client of a running hub, as a browser and a notebook would use it.

It signs up and logs in through the real forms (with their ``_xsrf`` field), asks the
REST API for tokens and servers, and executes code in a kernel over the single-user
server's websocket. Tests, benchmarks and operators' smoke checks share it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlparse

import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect


class HubClientError(Exception):
    """The hub answered something other than what the step needs."""


def _default_to_utf8(response: requests.Response, *args, **kwargs) -> None:
    if "charset" not in response.headers.get("Content-Type", ""):
        response.encoding = "utf-8"


class HubSession:
    """One person's browser session on the hub at ``base_url`` (e.g. ``http://127.0.0.1:8000/``)."""

    def __init__(self, base_url: str, timeout: float = 30):
        self.base_url = base_url.rstrip("/") + "/"
        self.http = requests.Session()
        # Some hub pages are sent without a charset; they are UTF-8 (requests would guess Latin-1).
        self.http.hooks["response"].append(_default_to_utf8)
        self.timeout = timeout
        self.username: str | None = None
        self.token: str | None = None

    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")

    def form_xsrf(self, path: str) -> str:
        """Load a form page and return the _xsrf value its form must send back."""
        response = self.http.get(self.url(path), timeout=self.timeout)
        response.raise_for_status()
        xsrf = self.http.cookies.get("_xsrf")
        if not xsrf:
            raise HubClientError(f"{path} set no _xsrf cookie")
        return xsrf

    def signup(self, username: str, password: str, email: str | None = None, affiliation: str = "Laboratoire d'essai",
               confirmation: str | None = None) -> requests.Response:
        """Fill in the signup form (e-mail and affiliation are asked; ``email`` defaults to
        ``<username>@example.org``, ``confirmation`` to ``password``)."""
        xsrf = self.form_xsrf("hub/signup")
        return self.http.post(
            self.url("hub/signup"),
            data={
                "_xsrf": xsrf,
                "username": username,
                "email": f"{username}@example.org" if email is None else email,
                "affiliation": affiliation,
                "signup_password": password,
                "signup_password_confirmation": password if confirmation is None else confirmation,
            },
            timeout=self.timeout,
        )

    def login(self, username: str, password: str) -> bool:
        """Log in through the login form; True when the hub accepted the credentials."""
        xsrf = self.form_xsrf("hub/login")
        response = self.http.post(
            self.url("hub/login"),
            data={"_xsrf": xsrf, "username": username, "password": password},
            allow_redirects=False,
            timeout=self.timeout,
        )
        accepted = response.status_code in (301, 302, 303) and "jupyterhub-session-id" in self.http.cookies
        if accepted:
            self.username = username
        return accepted

    def toggle_approval(self, username: str) -> requests.Response:
        """As a logged-in admin, approve (or withdraw approval of) an account, as the authorize page's form does."""
        xsrf = self.form_xsrf("hub/authorize")
        return self.http.post(self.url(f"hub/authorize/{quote(username)}"), data={"_xsrf": xsrf}, timeout=self.timeout)

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call the hub's REST API with this session's token, or its cookie and xsrf header."""
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        else:
            headers["X-XSRFToken"] = self.http.cookies.get("_xsrf", "")
        return self.http.request(
            method, self.url("hub/api/" + path.lstrip("/")), headers=headers, timeout=self.timeout, **kwargs
        )

    def request_token(self, note: str = "occidata client", expires_in: int = 3600) -> str:
        """Create a token for the logged-in user, with the user's own scopes, and use it from now on."""
        response = self.api(
            "POST", f"users/{quote(self.username)}/tokens", json={"note": note, "expires_in": expires_in}
        )
        if response.status_code != 201:
            raise HubClientError(f"token request refused: {response.status_code} {response.text[:200]}")
        self.token = response.json()["token"]
        return self.token

    def start_server(self, options: dict | None = None, timeout: float = 120) -> dict:
        """Spawn the user's default server and wait until it is ready; return the server model."""
        response = self.api("POST", f"users/{quote(self.username)}/server", json=options or {})
        if response.status_code == 429:
            raise HubClientError("spawn refused: too many concurrent spawns (429), retry later")
        if response.status_code not in (201, 202):
            raise HubClientError(f"spawn refused: {response.status_code} {response.text[:200]}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.api("GET", f"users/{quote(self.username)}").json().get("servers", {}).get("")
            if server is None:
                raise HubClientError(f"the server of {self.username} failed to start; see the hub log")
            if server.get("ready"):
                return server
            time.sleep(0.25)
        raise HubClientError(f"the server of {self.username} was not ready within {timeout:.0f} s")

    def stop_server(self, timeout: float = 60) -> None:
        """Stop the user's default server and wait until it is gone."""
        self.api("DELETE", f"users/{quote(self.username)}/server")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.api("GET", f"users/{quote(self.username)}").json().get("servers"):
                return
            time.sleep(0.25)
        raise HubClientError(f"the server of {self.username} did not stop within {timeout:.0f} s")

    def server_api(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call the single-user server's API (``/user/<name>/api/...``) with the token."""
        return self.http.request(
            method,
            self.url(f"user/{quote(self.username)}/api/{path.lstrip('/')}"),
            headers={"Authorization": f"token {self.token}"},
            timeout=self.timeout,
            **kwargs,
        )

    def start_kernel(self, name: str | None = None) -> dict:
        """Start a kernel (the server's default kernel unless ``name``); return its model."""
        response = self.server_api("POST", "kernels", json={"name": name} if name else {})
        if response.status_code != 201:
            raise HubClientError(f"kernel start refused: {response.status_code} {response.text[:200]}")
        return response.json()

    def execute(self, kernel_id: str, code: str, timeout: float = 60) -> str:
        """Run ``code`` in the kernel over its websocket; return its stdout, or raise with its error."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._execute(kernel_id, code, timeout))
        # Called from inside an event loop (Playwright's sync API runs one): use a thread of our own.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, self._execute(kernel_id, code, timeout)).result()

    def run_in_terminal(self, command: str, until: str, timeout: float = 60) -> str:
        """Type ``command`` in a new terminal of the user's lab (the shell the lab's Terminal opens)
        and return what it printed once ``until`` appears in it; the terminal is closed after."""
        name = self.server_api("POST", "terminals").json()["name"]
        try:
            with ThreadPoolExecutor(max_workers=1) as pool:
                return pool.submit(asyncio.run, self._terminal(name, command, until, timeout)).result()
        finally:
            self.server_api("DELETE", f"terminals/{name}")

    async def _terminal(self, name: str, command: str, until: str, timeout: float) -> str:
        parsed = urlparse(self.base_url)
        ws_url = f"ws://{parsed.netloc}{parsed.path}user/{quote(self.username)}/terminals/websocket/{name}"
        connection = await asyncio.wait_for(
            websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {self.token}"})), timeout)
        printed = ""
        try:
            connection.write_message(json.dumps(["stdin", command + "\r"]))
            deadline = time.monotonic() + timeout
            while until not in printed:
                raw = await asyncio.wait_for(connection.read_message(), max(deadline - time.monotonic(), 0.1))
                if raw is None:
                    raise HubClientError(f"the terminal closed before printing {until!r}: {printed[-500:]}")
                kind, *content = json.loads(raw)
                if kind == "stdout":
                    printed += content[0]
        except asyncio.TimeoutError:
            raise HubClientError(f"the terminal did not print {until!r} within {timeout:.0f} s: {printed[-500:]}") from None
        finally:
            connection.close()
        return printed

    async def _execute(self, kernel_id: str, code: str, timeout: float) -> str:
        parsed = urlparse(self.base_url)
        ws_url = f"ws://{parsed.netloc}{parsed.path}user/{quote(self.username)}/api/kernels/{kernel_id}/channels"
        request = HTTPRequest(ws_url, headers={"Authorization": f"token {self.token}"})
        connection = await asyncio.wait_for(websocket_connect(request), timeout)
        msg_id = uuid.uuid4().hex
        connection.write_message(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "username": self.username,
                        "session": uuid.uuid4().hex,
                        "msg_type": "execute_request",
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {"code": code, "silent": False, "store_history": False, "allow_stdin": False},
                    "channel": "shell",
                }
            )
        )
        stdout, error = [], None
        try:
            while True:
                raw = await asyncio.wait_for(connection.read_message(), timeout)
                if raw is None:
                    raise HubClientError("the kernel's websocket closed before the code finished")
                message = json.loads(raw)
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = message["header"]["msg_type"]
                content = message["content"]
                if kind == "stream" and content.get("name") == "stdout":
                    stdout.append(content["text"])
                elif kind == "error":
                    error = f"{content['ename']}: {content['evalue']}"
                elif kind == "status" and content.get("execution_state") == "idle":
                    break
        finally:
            connection.close()
        if error:
            raise HubClientError(f"the code raised {error}")
        return "".join(stdout)
