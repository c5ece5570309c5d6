"""Browser subscriptions: checked in full before anything is stored, kept by endpoint.

A subscription names its zones, or a point that is resolved once, when it subscribes, to the
zone containing it (a phone that moves subscribes again). Its endpoint and keys come from the
browser's `PushSubscription`; the `auth` secret is the proof that lets the browser (and only
it) change or delete the subscription later.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.engine import Engine

from airwarn.channels.targets import check_url
from airwarn.channels.webpush.outbox import (
    SUBSCRIPTION,
    SUBSCRIPTION_ZONE,
    delete_subscriptions,
)
from airwarn.channels.webpush.vapid import b64url_decode
from airwarn.engine.zones import ZoneSet
from airwarn.errors import ConflictError, NotFoundError, RequestError
from airwarn.ports import WALL_CLOCK
from airwarn.store.log import DECISION_LOG
from airwarn.store.secrets import SecretBox

LOCAL_HOSTS = {"127.0.0.1", "localhost"}  # plain http: to these, with private targets allowed
# the browsers' push services: Chrome, Edge and other Chromium browsers (Firebase Cloud
# Messaging), Firefox (Mozilla's autopush), Safari (Apple), Windows apps (WNS). Each stands for
# itself and its subdomains.
KNOWN_PUSH_HOSTS = (
    "fcm.googleapis.com",
    "push.services.mozilla.com",
    "push.apple.com",
    "notify.windows.com",
)
ANY_HOST = "*"


@dataclass(frozen=True)
class Subscription:
    """A checked subscription, ready to store."""

    endpoint: str
    p256dh: str
    auth: str
    zones: list[str]  # what pushes are for: as asked, or the zone holding the point
    point: tuple[float, float] | None  # (lat, lon) when by point
    lang: str
    drills: bool

    def answer(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "zones": self.zones,
            "point": None if self.point is None else {"lat": self.point[0], "lon": self.point[1]},
            "lang": self.lang,
            "drills": self.drills,
        }


def check(
    body: dict[str, Any],
    zones: ZoneSet,
    endpoint_hosts: tuple[str, ...] = KNOWN_PUSH_HOSTS,
    allow_private: bool = False,
) -> Subscription:
    """A subscription request checked against the zone set; RequestError names the field.
    The endpoint's name is not looked up here (`targets.check_resolved` does, on the loop)."""
    endpoint = check_endpoint(body["endpoint"], endpoint_hosts, allow_private)
    keys = body["keys"]
    p256dh = _key(
        keys["p256dh"],
        "$.keys.p256dh",
        65,
        "the browser's P-256 public key: 65 bytes (an uncompressed point, 87 "
        "base64url characters); send subscription.toJSON() unchanged",
        echo=True,
    )
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(p256dh))
    except ValueError:
        raise RequestError(
            "is not a point on the P-256 curve; send the browser's "
            "subscription.toJSON() keys unchanged",
            field="$.keys.p256dh",
            value=p256dh,
        ) from None
    auth = _key(
        keys["auth"],
        "$.keys.auth",
        16,
        "the browser's auth secret: 16 bytes (22 base64url characters); send "
        "subscription.toJSON() unchanged",
        echo=False,
    )
    asked, point = body.get("zones"), body.get("point")
    if (asked is None) == (point is None):
        raise RequestError(
            "give either `zones` (a list of zone ids) or `point` "
            '({"lat": ..., "lon": ...}), exactly one of them',
            field="$.zones" if asked is not None else "$.point",
        )
    if asked is not None:
        for i, zone in enumerate(asked):
            if zone not in zones.index_of:
                raise RequestError(
                    "no zone with that id; GET /v1/zones lists them, "
                    "GET /v1/zones/at?lat=..&lon=.. finds the one at a place",
                    field=f"$.zones[{i}]",
                    value=zone,
                )
        chosen = sorted(set(asked))
        where = None
    else:
        lat, lon = float(body["point"]["lat"]), float(body["point"]["lon"])
        index = zones.zone_at(lon, lat)
        if index is None:
            raise RequestError(
                f"no zone covers lat {lat}, lon {lon}; subscribe by `zones` "
                "instead, or give a point inside the covered area",
                field="$.point",
                value=f"lat {lat}, lon {lon}",
            )
        chosen, where = [zones.ids[index]], (lat, lon)
    return Subscription(
        endpoint, p256dh, auth, chosen, where, body.get("lang") or "en", bool(body.get("drills"))
    )


def check_endpoint(
    endpoint: str, endpoint_hosts: tuple[str, ...] = KNOWN_PUSH_HOSTS, allow_private: bool = False
) -> str:
    """An https URL of a known push service (`endpoint_hosts`: each host and its subdomains;
    `*` for any); plain http only to this machine, and only with private targets allowed."""
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower().rstrip(".")
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        host, parts = "", urlsplit("")
    local = allow_private and host in LOCAL_HOSTS
    if (
        not host
        or parts.username
        or parts.password
        or parts.fragment
        or not (parts.scheme == "https" or (parts.scheme == "http" and local))
    ):
        raise RequestError(
            "must be the https URL the browser's push service gave (subscription.endpoint)",
            field="$.endpoint",
            value=endpoint,
        )
    if (
        ANY_HOST not in endpoint_hosts
        and not local
        and not any(host == allowed or host.endswith("." + allowed) for allowed in endpoint_hosts)
    ):
        raise RequestError(
            "this server sends pushes only to the push services "
            + ", ".join(endpoint_hosts)
            + "; use a browser whose push service "
            "is one of them, or ask the operator to add its host with "
            "--push-hosts",
            field="$.endpoint",
            value=endpoint,
        )
    check_url(endpoint, "$.endpoint", allow_private=allow_private)
    return endpoint


def _key(text: str, field: str, size: int, what: str, *, echo: bool) -> str:
    try:
        raw = b64url_decode(text)
    except ValueError:
        raw = b""
    if len(raw) != size:
        got = f"{len(raw)} bytes" if raw else "not base64url"
        raise RequestError(f"must be {what}; got {got}", field=field, value=text if echo else None)
    return text.rstrip("=")


def add(db: Engine, sub: Subscription, secrets: SecretBox, max_per_zone: int | None = None) -> bool:
    """Store a subscription (its auth secret sealed with `secrets`); True if new, False if the
    same browser (same endpoint and keys) changed what it asked for. Another browser's keys on
    a known endpoint are refused, and so is a zone that already has `max_per_zone` other
    subscriptions (RequestError)."""
    now_ms = WALL_CLOCK.now_ms()
    values = {
        "p256dh": sub.p256dh,
        "auth": secrets.seal(sub.auth),
        "zones": None if sub.point is not None else json.dumps(sub.zones),
        "lat": None if sub.point is None else sub.point[0],
        "lon": None if sub.point is None else sub.point[1],
        "lang": sub.lang,
        "drills": sub.drills,
    }
    try:
        with db.begin() as conn:
            known = conn.execute(
                sa.select(SUBSCRIPTION.c.id, SUBSCRIPTION.c.p256dh, SUBSCRIPTION.c.auth).where(
                    SUBSCRIPTION.c.endpoint == sub.endpoint
                )
            ).first()
            if known is not None:
                if not (
                    hmac.compare_digest(secrets.open(known.auth), sub.auth)
                    and known.p256dh == sub.p256dh
                ):
                    raise ConflictError(
                        "this endpoint is subscribed with other keys; delete that "
                        "subscription first (DELETE /v1/push/subscriptions with its auth), "
                        "or subscribe the browser again to get a new endpoint"
                    )
                sub_id = int(known.id)
                conn.execute(
                    sa.delete(SUBSCRIPTION_ZONE).where(
                        SUBSCRIPTION_ZONE.c.subscription_id == sub_id
                    )
                )
            if max_per_zone is not None:
                _check_room(conn, sub, max_per_zone)
            if known is None:
                newest = conn.execute(sa.select(sa.func.max(DECISION_LOG.c.seq))).scalar()
                sub_id = int(
                    conn.execute(
                        sa.insert(SUBSCRIPTION)
                        .values(
                            endpoint=sub.endpoint, from_seq=newest or 0, created_ms=now_ms, **values
                        )
                        .returning(SUBSCRIPTION.c.id)
                    ).scalar_one()
                )
            else:
                conn.execute(
                    sa.update(SUBSCRIPTION).where(SUBSCRIPTION.c.id == sub_id).values(**values)
                )
            conn.execute(
                sa.insert(SUBSCRIPTION_ZONE),
                [{"zone": zone, "subscription_id": sub_id} for zone in sub.zones],
            )
    except sa.exc.IntegrityError:
        raise ConflictError(
            "this endpoint was being subscribed at the same moment; send the request again"
        ) from None
    return known is None


def _check_room(conn: sa.Connection, sub: Subscription, max_per_zone: int) -> None:
    """Refuse a subscription to a zone that has `max_per_zone` subscriptions already (each
    is a push to send at every change there). Called once this browser's own zones are gone
    from the table, so that changing them is not counted against it."""
    counts: dict[str, int] = dict(
        conn.execute(
            sa.select(SUBSCRIPTION_ZONE.c.zone, sa.func.count())
            .where(SUBSCRIPTION_ZONE.c.zone.in_(sub.zones))
            .group_by(SUBSCRIPTION_ZONE.c.zone)
        ).all()
    )
    for zone in sub.zones:
        if counts.get(zone, 0) >= max_per_zone:
            field = "$.point" if sub.point is not None else "$.zones"
            raise RequestError(
                f"zone {zone} has {counts[zone]} browser subscriptions, the most "
                "this server takes for one zone; follow its warnings on the "
                "public page, or ask the operator to raise --push-per-zone",
                field=field,
                value=zone,
            )


def remove(db: Engine, endpoint: str, auth: str, secrets: SecretBox) -> None:
    """Delete a subscription, if `auth` is its secret; NotFoundError otherwise (the same
    answer either way, so the endpoint's existence is not told to whoever asks)."""
    with db.begin() as conn:
        known = conn.execute(
            sa.select(SUBSCRIPTION.c.id, SUBSCRIPTION.c.auth).where(
                SUBSCRIPTION.c.endpoint == endpoint
            )
        ).first()
        if known is None or not hmac.compare_digest(secrets.open(known.auth), auth.rstrip("=")):
            raise NotFoundError("no subscription with this endpoint and auth secret")
        delete_subscriptions(conn, [int(known.id)])
