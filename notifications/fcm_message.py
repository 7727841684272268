"""One push as an FCM HTTP v1 message (the JSON body of ``messages:send``).

FCM applies only the block for the token's platform, so all three are always sent: a device
whose recorded platform is wrong still gets a well-formed notification.
"""

from __future__ import annotations

import hashlib
from typing import Any

from notifications.sender import Push

# APNs refuses an apns-collapse-id longer than this.
MAX_COLLAPSE_ID_BYTES = 64


def make_collapse_id(key: str) -> str:
    """Return ``key`` if APNs accepts it as a collapse id, else a stable hash of it."""
    if len(key.encode()) <= MAX_COLLAPSE_ID_BYTES:
        return key
    return hashlib.sha256(key.encode()).hexdigest()


def encode_message(push: Push, *, now: float) -> dict[str, Any]:
    """Return the request body that sends ``push``; ValueError if FCM could never take it."""
    if not isinstance(push.token, str) or not push.token:
        raise ValueError("a device token must be a non-empty string")
    collapse_id = make_collapse_id(push.collapse_key)
    ttl = max(push.ttl_seconds, 0)
    return {
        "message": {
            # Our devices register FCM registration tokens, which FCM v1 takes as "token".
            "token": push.token,
            # FCM refuses non-string data values; the planner's ids may arrive as UUIDs or ints.
            "data": {str(key): str(value) for key, value in push.data.items()},
            "notification": {"title": push.title, "body": push.body},
            "android": {"collapse_key": collapse_id, "priority": "high", "ttl": f"{ttl}s"},
            "apns": {
                "headers": {
                    "apns-collapse-id": collapse_id,
                    "apns-expiration": str(int(now) + ttl),
                    "apns-priority": "10",
                },
                "payload": {
                    "aps": {
                        "alert": {"title": push.title, "body": push.body},
                        "sound": "default",
                    }
                },
            },
            "webpush": {"headers": {"TTL": str(ttl)}},
        }
    }
