"""The HTTP/1.1 protocol the server speaks: uvicorn's, with its own refusals as problems.

Requests uvicorn cannot parse (a request line or header beyond its limits, bytes that are not
HTTP, two Content-Lengths) never reach the app; uvicorn answered them with a plain-text 400.
Here that answer is `application/problem+json` like every other error of the API. The text
names no part of the request: what could not be parsed may hold anything.
"""

import json

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from app.errors import PROBLEM_JSON, problem_body

_UNREADABLE = json.dumps(
    problem_body(
        400,
        "malformed-request",
        "The request is not valid HTTP/1.1",
        "The request line or a header could not be read (too long, or not HTTP/1.1); "
        "nothing was done.",
    )
).encode()


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        head = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend(
            [
                b"content-type: " + PROBLEM_JSON.encode() + b"\r\n",
                b"content-length: " + str(len(_UNREADABLE)).encode("ascii") + b"\r\n",
                b"cache-control: no-store\r\n",
                b"connection: close\r\n\r\n",
                _UNREADABLE,
            ]
        )
        self.transport.write(b"".join(head))
        self.transport.close()
