"""A fake OAuth provider (just enough of GitHub's and Google's endpoints) for the social sign-in tests,
in process or behind the local stack (``provider_env`` points the platform at it)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlparse

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class FakeProvider:
    """Just enough of GitHub's and Google's OAuth endpoints: codes issued by the test, checked with PKCE."""

    def __init__(self) -> None:
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, dict[str, Any]] = {}

    def approve(self, authorize_url: str, profile: dict[str, Any]) -> str:
        q = {k: v[0] for k, v in parse_qs(urlparse(authorize_url).query).items()}
        assert q["code_challenge_method"] == "S256" and q["response_type"] == "code"
        code = f"code-{len(self.codes)}"
        self.codes[code] = {
            "challenge": q["code_challenge"],
            "redirect_uri": q["redirect_uri"],
            "profile": profile,
        }
        return code

    def app(self) -> Starlette:
        async def token(request: Request) -> JSONResponse:
            form = await request.form()
            grant = self.codes.pop(str(form.get("code")), None)
            verifier = str(form.get("code_verifier", ""))
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            )
            if (
                grant is None
                or grant["challenge"] != challenge
                or grant["redirect_uri"] != form.get("redirect_uri")
            ):
                return JSONResponse({"error": "bad_verification_code"})
            access = f"gho_{len(self.tokens)}"
            self.tokens[access] = grant["profile"]
            return JSONResponse({"access_token": access, "token_type": "bearer"})

        def who(request: Request) -> dict[str, Any]:
            return self.tokens[request.headers["authorization"].removeprefix("Bearer ")]

        async def user(request: Request) -> JSONResponse:
            p = who(request)
            return JSONResponse(
                {"id": p["id"], "login": p["login"], "name": p.get("name"), "avatar_url": None}
            )

        async def emails(request: Request) -> JSONResponse:
            p = who(request)
            return JSONResponse([{"email": p["email"], "primary": True, "verified": p["verified"]}])

        async def google_userinfo(request: Request) -> JSONResponse:
            p = who(request)
            return JSONResponse(
                {
                    "sub": str(p["id"]),
                    "email": p["email"],
                    "email_verified": p["verified"],
                    "name": p.get("name"),
                    "picture": None,
                }
            )

        return Starlette(
            routes=[
                Route("/login/oauth/access_token", token, methods=["POST"]),
                Route("/user", user),
                Route("/user/emails", emails),
                Route("/google/token", token, methods=["POST"]),
                Route("/google/userinfo", google_userinfo),
            ]
        )


def provider_env(base: str) -> dict[str, str]:
    """The variables that point the platform's GitHub and Google sign-in at the fake at ``base``."""
    return {
        "ONE_GITHUB_AUTHORIZE_URL": base + "/login/oauth/authorize",
        "ONE_GITHUB_TOKEN_URL": base + "/login/oauth/access_token",
        "ONE_GITHUB_USERINFO_URL": base + "/user",
        "ONE_GITHUB_EMAILS_URL": base + "/user/emails",
        "ONE_GITHUB_CLIENT_ID": "local-client",
        "ONE_GOOGLE_AUTHORIZE_URL": base + "/google/authorize",
        "ONE_GOOGLE_TOKEN_URL": base + "/google/token",
        "ONE_GOOGLE_USERINFO_URL": base + "/google/userinfo",
        "ONE_GOOGLE_CLIENT_ID": "local-google-client",
    }
