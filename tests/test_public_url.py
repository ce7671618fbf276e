"""The platform's public URL (``ontology.public_url``): configured, or read from the stack's SSM
parameter once per cold start, never guessed in the cloud."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def settings(aws: None) -> Iterator[None]:
    from ontology.aws import reset_clients
    from ontology.settings import configure

    reset_clients()
    configure(None)
    yield
    configure(None)
    reset_clients()


def test_the_public_url_is_the_stacks_parameter_read_once_per_cold_start(settings: None) -> None:
    """In AWS nothing names the CloudFront distribution in a function's environment: the template
    keeps its URL in an SSM parameter and hands functions the parameter's name."""
    import boto3

    from ontology.public_url import public_url
    from ontology.settings import configure

    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/one-cold/public-url", Value="https://d111abc.cloudfront.net/", Type="String")
    configure(public_base_url="", public_url_parameter="/one-cold/public-url", local=False)
    assert public_url() == "https://d111abc.cloudfront.net"
    ssm.put_parameter(Name="/one-cold/public-url", Value="https://changed.example", Overwrite=True)
    assert public_url() == "https://d111abc.cloudfront.net", "read once, not once per request"


def test_a_configured_base_url_wins_over_the_parameter(settings: None) -> None:
    from ontology.public_url import public_url
    from ontology.settings import configure

    configure(public_base_url="https://app.example", public_url_parameter="/one-none/public-url", local=False)
    assert public_url() == "https://app.example"


def test_a_deployed_function_without_a_public_url_refuses_to_guess(settings: None) -> None:
    from ontology.errors import InternalError
    from ontology.public_url import LOCAL_PUBLIC_URL, public_url
    from ontology.settings import configure

    configure(public_base_url="", public_url_parameter="", local=False)
    with pytest.raises(InternalError):
        public_url()
    configure(local=True)
    assert public_url() == LOCAL_PUBLIC_URL == "http://127.0.0.1:3210"


def test_a_cookie_is_trusted_from_the_public_url_the_parameter_holds(settings: None) -> None:
    """Behind CloudFront the page's origin is the distribution's: a function call signed in by the
    session cookie from there is trusted, one from the execute-api host the function sees is not."""
    import boto3

    from ontology.auth.callers import is_trusted_origin
    from ontology.settings import configure

    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/one-front/public-url", Value="https://d222abc.cloudfront.net", Type="String")
    configure(
        public_base_url="", public_url_parameter="/one-front/public-url", local=False, allowed_origins=()
    )
    assert is_trusted_origin("https://d222abc.cloudfront.net")
    assert not is_trusted_origin("https://abc123.execute-api.us-east-1.amazonaws.com")
    assert not is_trusted_origin("https://d222abc.cloudfront.net\\@evil.example")
