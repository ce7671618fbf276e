"""AWS-strict ``memory``: an invocation past its function's ``MemorySize`` fails with Lambda's
``Runtime.OutOfMemory``; and ``clones:clone_voice``, which takes up to 25 samples of 10 MB, holds one
chunk of them at a time, not all of them, so it stays within its function's memory."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.local.memory import MB, OutOfMemoryError, peaks
from infra.local.runner import FunctionDef, LambdaRunner
from infra.template.document import load_template

pytestmark = pytest.mark.aws_strict


def _runner(**handlers: tuple[int, Callable[..., Any]]) -> LambdaRunner:
    """The template's functions, and ``name=(memory MB, handler)`` besides."""
    runner = LambdaRunner(load_template())
    for name, (memory_mb, handler) in handlers.items():
        runner.defs[name] = FunctionDef(name, f"test.{name}", memory_mb, 10, ())
        runner._handlers[name] = handler
    return runner


def _holding(mb: int) -> Callable[..., Any]:
    def handler(event: Any, context: Any) -> int:
        held = bytearray(mb * MB)
        return len(held) // MB

    return handler


def test_by_default_memory_is_not_counted() -> None:
    assert _runner(Hungry=(128, _holding(100))).invoke("Hungry", {}) == 100


def test_an_invocation_past_its_memory_fails_with_lambdas_error(strict_mode: Callable[..., Any]) -> None:
    strict_mode("memory", memory_baseline_mb=64)
    runner = _runner(Hungry=(128, _holding(100)), Modest=(128, _holding(30)))
    with pytest.raises(OutOfMemoryError) as killed:
        runner.invoke("Hungry", {})
    assert killed.value.lambda_error_type == "Runtime.OutOfMemory"
    assert str(killed.value).endswith("Error: Runtime exited with error: signal: killed")
    assert str(killed.value).startswith("RequestId: ")
    assert killed.value.peak >= 100 * MB and killed.value.limit == 64 * MB
    assert runner.invoke("Modest", {}) == 30  # 30 MB of the 64 MB left by the runtime: fine
    assert 30 * MB <= peaks()["Modest"] < 64 * MB


def test_an_invocation_made_from_another_is_measured_on_its_own(strict_mode: Callable[..., Any]) -> None:
    strict_mode("memory", memory_baseline_mb=64)
    runner: LambdaRunner

    def outer(event: Any, context: Any) -> int:
        held = bytearray(40 * MB)
        runner.invoke("Inner", {})  # another Lambda, invoked synchronously: its own memory
        return len(held) // MB

    runner = _runner(Outer=(128, outer), Inner=(128, _holding(40)))
    assert runner.invoke("Outer", {}) == 40
    assert peaks()["Outer"] < 64 * MB and peaks()["Inner"] >= 40 * MB


# ------------------------------------------------------------------------------------- clone_voice


class _ElevenLabs:
    """ElevenLabs' ``voices/add`` as an httpx transport that reads the upload a chunk at a time."""

    def __init__(self) -> None:
        import httpx

        self.uploaded = 0
        self.transport = httpx.BaseTransport()
        self.transport.handle_request = self._handle  # type: ignore[method-assign]

    def _handle(self, request: Any) -> Any:
        import httpx

        digest = hashlib.sha256()
        for chunk in request.stream:
            self.uploaded += len(chunk)
            digest.update(chunk)
        body = json.dumps({"voice_id": digest.hexdigest()[:20], "requires_verification": False})
        return httpx.Response(200, content=body.encode(), headers={"content-type": "application/json"})


@pytest.fixture
def elevenlabs(bucket: str) -> Iterator[_ElevenLabs]:
    import httpx

    from ontology.providers.voice import ElevenLabs, set_voice

    fake = _ElevenLabs()
    set_voice(ElevenLabs(httpx.Client(transport=fake.transport), api_key="local"))
    try:
        yield fake
    finally:
        set_voice(None)


def _sample(i: int, size: int) -> bytes:
    """A WAV header and ``size`` bytes in all."""
    head = b"RIFF" + (size - 8).to_bytes(4, "little") + b"WAVEfmt "
    return head + bytes([i % 251]) * (size - len(head))


def test_clone_voice_holds_a_sample_at_a_time_not_all_of_them(
    elevenlabs: _ElevenLabs, strict_mode: Callable[..., Any]
) -> None:
    from ontology.data.storage import Storage
    from tests.data.helpers import ORG
    from tests.functions.conftest import run_as_owner

    count, size = 12, 8 * MB  # 96 MB of samples
    made = run_as_owner("creators:create", {"email": "v@example.com", "name": "Vi", "niche": []})
    run_as_owner("clones:create", {"creatorId": made["creatorId"]})
    storage = Storage(ORG)
    samples = [storage.put(_sample(i, size), content_type="audio/wav") for i in range(count)]
    runner = LambdaRunner(load_template())
    logical = next(k for k, d in runner.defs.items() if d.handler == "clones.voice.clone_voice")
    strict_mode("memory", memory_baseline_mb=64)
    owner = {"userId": "usr_test", "organizationId": ORG, "role": "org_owner"}
    voiced = runner.invoke(logical, {"creatorId": made["creatorId"], "audioSamples": samples, "_auth": owner})
    assert voiced["voiceId"] and elevenlabs.uploaded > count * size
    # A sample's worth at a time (and what moto and the SDK copy of it on the way), never the 96 MB:
    # 25 samples of 10 MB take no more.
    assert peaks()[logical] < 4 * size
