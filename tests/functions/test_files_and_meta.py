"""files:* (presigned upload, save, download URL, delete) and meta:openapi."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import boto3

STO = "sto_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"


def _upload(call, member, data: bytes = b"\x89PNG fake image", content_type="image/png"):
    up = call("files:generate_upload_url", {"contentType": content_type, "size": len(data)}, as_=member).value
    # moto does not check signatures: write where the URL points, as the client's PUT would.
    key = urlparse(up["uploadUrl"]).path.split("/", 2)[2] if up["uploadUrl"].startswith("http") else None
    return up, key


def test_upload_url_is_bounded_and_under_the_org_prefix(call, alice, bucket) -> None:
    up, _ = _upload(call, alice)
    url = urlparse(up["uploadUrl"])
    query = parse_qs(url.query)
    assert int(query["X-Amz-Expires"][0]) <= 15 * 60
    signed = query["X-Amz-SignedHeaders"][0].split(";")
    assert "content-type" in signed and "content-length" in signed
    assert f"/{alice.organizationId}/{up['storageId']}" in url.path
    assert up["headers"] == {"Content-Type": "image/png", "Content-Length": "15"}
    for bad in (
        {"contentType": "application/x-msdownload", "size": 10},
        {"contentType": "image/png", "size": 0},
        {"contentType": "image/png", "size": 200 * 1024 * 1024},
    ):
        assert call("files:generate_upload_url", bad).status == 400


def test_save_get_url_delete(call, alice, bob, bucket) -> None:
    data = b"\x89PNG fake image"
    up, _ = _upload(call, alice, data)
    s3 = boto3.client("s3", region_name="us-east-1")
    r = call(
        "files:save_file",
        {"storageId": up["storageId"], "name": "a.png", "type": "image/png", "size": len(data)},
    )
    assert (r.status, r.code) == (404, "NOT_FOUND"), "nothing uploaded yet"
    s3.put_object(
        Bucket=bucket, Key=f"{alice.organizationId}/{up['storageId']}", Body=data, ContentType="image/png"
    )
    wrong = call(
        "files:save_file", {"storageId": up["storageId"], "name": "a.png", "type": "image/png", "size": 3}
    )
    assert (wrong.status, wrong.body["errorData"]["field"]) == (400, "size")
    file_id = call(
        "files:save_file",
        {"storageId": up["storageId"], "name": "a.png", "type": "image/png", "size": len(data)},
    ).value["fileId"]
    asset = call("entities:get", {"id": file_id}).value
    assert asset["type"] == "media_asset" and asset["properties"]["fileSize"] == len(data)
    url = call("files:get_file_url", {"storageId": up["storageId"]}).value
    assert up["storageId"] in url
    assert call("files:get_file_url", {"storageId": up["storageId"]}, as_=bob).value is None, (
        "other org: no file"
    )
    assert call("files:get_file_url", {"storageId": STO}).value is None
    assert call("files:delete_file", {"fileId": file_id}, as_=bob).code == "NOT_FOUND"
    assert call("files:delete_file", {"fileId": file_id}).value == {"success": True}
    assert call("files:get_file_url", {"storageId": up["storageId"]}).value is None
    assert call("entities:get", {"id": file_id}).value is None
    assert call("files:get_file_url", {"storageId": "sto_bad"}).status == 400


def test_openapi_document(call) -> None:
    r = call("meta:openapi", as_=None)
    assert r.status == 200
    doc = r.body
    assert doc["openapi"] == "3.1.0"
    op = doc["paths"]["/api/creators/get"]["post"]
    assert op["x-convex-path"] == "creators:get" and op["x-auth"] == "public"  # a public profile
    assert doc["paths"]["/api/entities/list"]["post"]["x-auth"] == "member"
    assert op["requestBody"]["content"]["application/json"]["schema"]["required"] == ["id"]
    assert "404" in op["responses"] and "409" in op["responses"]
    codes = doc["components"]["schemas"]["Error"]["properties"]["errorData"]["properties"]["code"]["enum"]
    assert {"NOT_FOUND", "VALIDATION_ERROR", "CONFLICT", "INTERNAL"} <= set(codes)
    create = doc["paths"]["/api/entities/create"]["post"]
    enum = create["requestBody"]["content"]["application/json"]["schema"]["properties"]["type"]["enum"]
    assert len(enum) == 50
    assert "/api/openapi.json" in doc["paths"] and doc["paths"]["/api/openapi.json"]["get"]["security"] == []
    assert all("/_local" not in p for p in doc["paths"])
