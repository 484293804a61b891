"""The notifier's AWS adapters: the WebSocket management API and the AppSync endpoint."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

PUBLISH_ORDER_UPDATE = """
mutation PublishOrderUpdate($order: OrderUpdateInput!) {
  publishOrderUpdate(order: $order) {
    orderId customerId status items { sku quantity unitPrice } total currency
    payment { status } updatedAt
  }
}
""".strip()


class WebSocketPusher:
    """Posts to connections through the API Gateway management API of this region's stage."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def push(self, connection_id: str, data: bytes) -> bool:
        """True if delivered, False if the connection is gone; other errors propagate."""
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "GoneException":
                return False
            raise
        return True


class PublishFailed(RuntimeError):
    """AppSync did not accept the ``publishOrderUpdate`` mutation."""


class AppSyncPublisher:
    """Calls the local AppSync API's IAM-only ``publishOrderUpdate`` with a SigV4-signed POST.

    Subscribers of ``onOrderUpdated(customerId)`` receive the mutation's result, so the
    selection set asks for every field of the order.
    """

    def __init__(self, url: str, region: str, credentials: Any, http: Any) -> None:
        self._url = url
        self._region = region
        self._credentials = credentials  # botocore credentials; refreshable ones are re-read
        self._http = http  # a botocore.httpsession.URLLib3Session

    def publish(self, view: Mapping[str, Any]) -> None:
        """Publish one view; raise :class:`PublishFailed` unless AppSync returned data."""
        body = json.dumps({"query": PUBLISH_ORDER_UPDATE, "variables": {"order": dict(view)}})
        request = AWSRequest(
            method="POST",
            url=self._url,
            data=body.encode("utf-8"),
            headers={"content-type": "application/json"},
        )
        SigV4Auth(self._credentials.get_frozen_credentials(), "appsync", self._region).add_auth(
            request
        )
        response = self._http.send(request.prepare())
        if response.status_code != 200:
            raise PublishFailed(f"AppSync answered HTTP {response.status_code}")
        try:
            answer = json.loads(response.content)
        except ValueError as error:
            raise PublishFailed("AppSync answered something that is not JSON") from error
        if answer.get("errors") or not (answer.get("data") or {}).get("publishOrderUpdate"):
            raise PublishFailed(f"AppSync refused the update: {answer.get('errors')}")
