"""A Python client of the platform's HTTP API (needs ``httpx``: ``pip install httpx``).

    client = OneClient("http://127.0.0.1:3210", token=session_token)
    creator = client.query("creators:get", {"id": creator_id})
    client.mutation("creators:update", {"id": creator_id, "bio": "…"})

Errors come back as the platform's typed exceptions (``NotFoundError``, ``ConflictError``, …), each
with the server's ``code``, message and ``errorData``. A result that hands the session a new token
(``organizations:switch_active`` answers ``sessionToken``) replaces the client's token, so the next
call acts in the organization switched to.
"""

from __future__ import annotations

from typing import Any

from ontology import errors as _errors

__all__ = ["OneClient"]

#: The class a code stands for: one that declares the code itself, never a subclass that only refines
#: another's (ChainRevertedError and AbortedError answer UPSTREAM_ERROR and CONFLICT).
_BY_CODE: dict[str, type[_errors.OneError]] = {
    cls.code: cls for cls in _errors._all_error_classes() if "code" in vars(cls)
}
_BY_STATUS: dict[int, type[_errors.OneError]] = {
    401: _errors.UnauthenticatedError,
    403: _errors.ForbiddenError,
    404: _errors.NotFoundError,
    413: _errors.PayloadTooLargeError,
    429: _errors.RateLimitedError,
}


def _raise(status: int, body: Any) -> None:
    data = body.get("errorData") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        # Not the platform's envelope (e.g. API Gateway's own {"message": "Unauthorized"}).
        message = body.get("message") if isinstance(body, dict) else None
        cls = _BY_STATUS.get(status, _errors.UpstreamError)
        raise cls(message or f"HTTP {status}")
    fields = {k: v for k, v in data.items() if k != "code"}
    cls = _BY_CODE.get(str(data.get("code")), _errors.OneError)
    exc = cls.__new__(cls)
    _errors.OneError.__init__(exc, body.get("errorMessage"), **fields)
    if isinstance(exc, _errors.ValidationError):
        exc.field = fields.get("field")
    raise exc


class OneClient:
    """Calls ``POST /api/<module>/<function>``; paths are written ``module:function``."""

    def __init__(
        self, base_url: str, token: str | None = None, *, timeout: float = 30.0, http: Any = None
    ) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.token = token
        self._http = http or httpx.Client(timeout=timeout)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def call(self, path: str, args: dict[str, Any] | None = None) -> Any:
        module, sep, name = path.partition(":")
        if not sep or not module or not name:
            raise ValueError(f"a function path is module:function, not {path!r}")
        resp = self._http.post(
            f"{self.base_url}/api/{module}/{name}", json=args or {}, headers=self._headers()
        )
        try:
            body = resp.json()
        except ValueError:
            body = {"message": resp.text[:200]}
        if resp.status_code == 200 and isinstance(body, dict) and body.get("status") == "success":
            value = body.get("value")
            if self.token and isinstance(value, dict) and isinstance(value.get("sessionToken"), str):
                self.token = value["sessionToken"]
            return value
        _raise(resp.status_code, body)
        return None  # pragma: no cover

    query = call
    mutation = call
    action = call

    def openapi(self) -> dict[str, Any]:
        document: dict[str, Any] = self._http.get(f"{self.base_url}/api/openapi.json").json()
        return document

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OneClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
