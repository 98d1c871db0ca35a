"""The HTTP/1.1 protocol the server speaks: uvicorn's, with its own refusals as problems and
a limit on the size of a request's head.

Requests uvicorn cannot parse (bytes that are not HTTP/1.1, control characters in a header,
two Content-Lengths) never reach the app; uvicorn answered them with a plain-text 400. Here
that answer is `application/problem+json` like every other error of the API, with the headers
every response carries. The text names no part of the request: what could not be parsed may
hold anything.

uvicorn's httptools parser sets no limit on a request line or a header: a client could send
one of any size and the process would hold it in memory. A head beyond `MAX_HEAD_BYTES` is
refused with 431 as soon as that much has arrived.
"""

import json

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from app.errors import PROBLEM_JSON, problem_body
from app.http import EDGE_HEADERS

# The request line and headers together (a gateway's limit is usually 8–64 KiB).
MAX_HEAD_BYTES = 64 * 1024


def _problem(status: int, slug: str, title: str, detail: str) -> bytes:
    return json.dumps(problem_body(status, slug, title, detail)).encode()


_UNREADABLE = _problem(
    400,
    "malformed-request",
    "The request is not valid HTTP/1.1",
    "The request line or a header could not be read as HTTP/1.1; nothing was done.",
)
_HEAD_TOO_LARGE = _problem(
    431,
    "request-head-too-large",
    "The request line and headers are too large",
    f"The request line and headers must be at most {MAX_HEAD_BYTES} bytes together; "
    "nothing was done.",
)


class _HeadTooLarge(Exception):
    pass


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    # Bytes of the current request's head: as parsed (exact), and as received while the head
    # was still being read (a bound on what the parser holds of a header not yet complete).
    _parsed = _received = 0
    _reading_head = True
    _too_large = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._parsed = self._received = 0
        self._reading_head, self._too_large = True, False

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._count(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._count(len(name) + len(value) + 4)

    def _count(self, size: int) -> None:
        self._parsed += size
        if self._parsed > MAX_HEAD_BYTES:
            self._too_large = True
            raise _HeadTooLarge  # the parser stops; uvicorn answers with send_400_response

    def on_headers_complete(self) -> None:
        self._reading_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._reading_head:
            self._received += len(data)
        super().data_received(data)
        still_reading = self._reading_head and self._received > MAX_HEAD_BYTES
        if still_reading and not self.transport.is_closing():
            self._refuse(431, _HEAD_TOO_LARGE)

    def send_400_response(self, msg: str) -> None:
        if self._too_large:
            self._refuse(431, _HEAD_TOO_LARGE)
        else:
            self._refuse(400, _UNREADABLE)

    def _refuse(self, status: int, payload: bytes) -> None:
        head = [STATUS_LINE[status]]
        for name, value in [*self.server_state.default_headers, *EDGE_HEADERS]:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend(
            [
                b"content-type: " + PROBLEM_JSON.encode() + b"\r\n",
                b"content-length: " + str(len(payload)).encode("ascii") + b"\r\n",
                b"connection: close\r\n\r\n",
                payload,
            ]
        )
        self.transport.write(b"".join(head))
        self.transport.close()
