"""ActiveMQ statistics and admin through Jolokia, the REST bridge of the web console.

Always POST JSON (ActiveMQ 6.2.6+ refuses GET) with an `Origin` header (CORS
strict checking refuses requests without one, since 5.15.12). Jolokia answers
most failures with HTTP 200 and a JSON `status`, so every entry is checked. The
pure parsing lives in module functions, testable without a server.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

from syncwizard.clients.names import EVENT2_TOPIC, KNOWN_TOPICS, sync_queue_name
from syncwizard.clients.results import QueueStats, Subscriber, TopicStats, TopicSubscribers
from syncwizard.errors import SyncWizardError

DOMAIN = "org.apache.activemq"
QUEUE_ATTRIBUTES = ("QueueSize", "EnqueueCount", "DequeueCount", "InFlightCount", "ConsumerCount")
TOPIC_ATTRIBUTES = ("EnqueueCount", "ConsumerCount")
# Characters that would turn a sync GUID into an ObjectName pattern or break the name.
_OBJECT_NAME_SPECIALS = frozenset(',=:*?"\n\\')

CREDENTIALS_HINT = (
    "check broker.user in the profile and the password (the environment variable named by "
    "broker.password_env, or broker.password_file); the stock console user is admin"
)
# Where an admin changes the policy: the broker's conf dir (the Docker images' path shown).
POLICY_FILE = "conf/jolokia-access.xml (/opt/activemq/conf/jolokia-access.xml in the images)"
HARDENED = "ActiveMQ 5.19.7+ and 6.2.6+"
# Jolokia's words for a refusal by its policy: an operation, and an HTTP method.
_FORBIDDEN_OPERATION = re.compile(r"Operation (\S+) forbidden for MBean (\S+)")
_FORBIDDEN_METHOD = "is not allowed according to the installed security policy"


class PolicyRefusal(SyncWizardError):
    """Jolokia's access policy forbids an operation. Never retried: the same request gets
    the same answer; `operation` and `mbean` say what was refused, for a fallback."""

    def __init__(self, message: str, *, hint: str, operation: str, mbean: str) -> None:
        super().__init__(message, hint=hint, system="broker")
        self.operation = operation
        self.mbean = mbean


# --- pure helpers -------------------------------------------------------------------------


def origin_of(url: str) -> str:
    """The `Origin` to send for a Jolokia URL: `scheme://host[:port]`."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


def basic_authorization(user: str, password: str) -> str:
    """The `Authorization` header value of HTTP basic auth (UTF-8, as httpx does)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def broker_mbean(broker: str) -> str:
    return f"{DOMAIN}:type=Broker,brokerName={broker}"


def destination_mbean(broker: str, kind: str, name: str) -> str:
    """The MBean of a queue or topic; `kind` is "Queue" or "Topic"."""
    return f"{broker_mbean(broker)},destinationType={kind},destinationName={name}"


def parse_object_name(object_name: str) -> dict[str, str]:
    """`domain:k1=v1,k2=v2` -> {"k1": "v1", "k2": "v2"} (ActiveMQ never quotes its values)."""
    _, _, keys = object_name.partition(":")
    pairs = (part.partition("=") for part in keys.split(","))
    return {key: value for key, _, value in pairs if key}


def destination_names(object_names: Iterable[str]) -> list[str]:
    """Sorted `destinationName`s of search results for destination MBeans."""
    names = (parse_object_name(name).get("destinationName") for name in object_names)
    return sorted(name for name in names if name)


def _first_line(text: str, limit: int = 120) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line[:limit] + ("…" if len(line) > limit else "")


def decode_response(
    url: str, status_code: int, content_type: str, body: bytes, *, user: str, location: str = ""
) -> Any:
    """The parsed JSON of a Jolokia answer, or a SyncWizardError for HTTP-level failures."""
    if status_code == 401:
        raise SyncWizardError(
            f"Jolokia at {url} rejected the user {user!r} (HTTP 401): wrong user or password.",
            hint=CREDENTIALS_HINT,
            system="broker",
        )
    if status_code == 403:
        raise _http_forbidden(url, user, body)
    if 300 <= status_code < 400:
        raise SyncWizardError(
            f"Jolokia at {url} answered with a redirect (HTTP {status_code}) to "
            f"{location or 'an unnamed place'} instead of JSON.",
            hint="set broker.jolokia_url to the Jolokia endpoint itself, e.g. "
            "http://host:8161/api/jolokia (no login page, no proxy in between)",
            system="broker",
        )
    try:
        return json.loads(body)
    except ValueError:
        text = body.decode("utf-8", errors="replace")
        first = _first_line(text) or "(empty body)"
        raise SyncWizardError(
            f"Jolokia at {url} answered HTTP {status_code} with "
            f"{content_type or 'no content type'} instead of JSON; it begins: {first}",
            hint="check that broker.jolokia_url points at the Jolokia endpoint of the ActiveMQ "
            "console (…:8161/api/jolokia), not at the console page, a login page or a proxy",
            system="broker",
        ) from None


def _http_forbidden(url: str, user: str, body: bytes) -> SyncWizardError:
    """HTTP 403 from the console's Jetty: a user without the role ("!role"), or a client it
    does not accept from where it connects (InetAccessHandler: "Forbidden")."""
    text = body.decode("utf-8", errors="replace")
    if "!role" in text:
        return SyncWizardError(
            f"Jolokia at {url} refused the user {user!r} (HTTP 403 !role): the user lacks the "
            f"role for the REST API; {HARDENED} give /api/jolokia to the admin role only.",
            hint="use a console user with the admin role (conf/jetty-realm.properties, or the "
            "JAAS users and groups); " + CREDENTIALS_HINT,
            system="broker",
        )
    loopback = (
        f"{HARDENED} accept console and Jolokia clients on loopback only (the "
        "InetAccessHandler in conf/jetty.xml)"
    )
    tunnel = (
        "reach it through a tunnel that arrives on the broker's host as loopback "
        "(kubectl port-forward, ssh -L) and point broker.jolokia_url at it, or have the "
        "broker's admin add this host's address to the InetAccessHandler in conf/jetty.xml"
    )
    if "Forbidden" in text:
        return SyncWizardError(
            f"Jolokia at {url} refused this client (HTTP 403 Forbidden) before asking who it "
            f"is: {loopback}.",
            hint=tunnel,
            system="broker",
        )
    return SyncWizardError(
        f"Jolokia at {url} refused the request (HTTP 403): either the user {user!r} lacks the "
        f"admin role, or the console does not accept clients from here ({loopback}).",
        hint=f"use a console user with the admin role, or {tunnel}",
        system="broker",
    )


def _policy_entry(mbean: str) -> str:
    """The <mbean><name> of ActiveMQ's hardened policy that denies operations on `mbean`."""
    if "destinationType=" in mbean:
        return f"{DOMAIN}:type=Broker,brokerName=*,destinationType=*,destinationName=*"
    return f"{DOMAIN}:type=Broker,brokerName=*"


def policy_refusal(url: str, error: str, what: str) -> SyncWizardError | None:
    """The error for Jolokia's policy refusing an operation or an HTTP method, or None when
    `error` (a 403 entry's text) is not such a refusal."""
    stated = error.removeprefix("java.lang.Exception : ").removeprefix("java.lang.Exception: ")
    found = _FORBIDDEN_OPERATION.search(stated)
    if found:
        operation, mbean = found.group(1), found.group(2)
        name = operation.partition("(")[0]
        return PolicyRefusal(
            f"The broker refused {what}: its Jolokia access policy forbids {name} (Jolokia "
            f'says: "{stated}"). Nothing was changed, and syncwizard does not retry a refusal.',
            hint=f"the <deny> entry for {name} under <mbean><name>{_policy_entry(mbean)}"
            f"</name> in the broker's {POLICY_FILE}, as {HARDENED} ship it: use a way that "
            f"does not need {name}, or have the broker's admin remove {name} from that entry "
            "and restart the broker",
            operation=operation,
            mbean=mbean,
        )
    if _FORBIDDEN_METHOD in stated:
        return SyncWizardError(
            f'Jolokia at {url} refused {what}: "{stated}". Its policy (<http><method>post'
            f"</method> in {POLICY_FILE}, as {HARDENED} ship it) allows POST only; syncwizard "
            "always POSTs, so something in between turned the request into another method.",
            hint="point broker.jolokia_url at Jolokia itself (…/api/jolokia, no redirect), or "
            "at a proxy that passes POST requests unchanged",
            system="broker",
        )
    return None


def entry_value(url: str, entry: Any, what: str) -> Any:
    """The `value` of one Jolokia answer entry, or a SyncWizardError naming `what` failed."""
    if not isinstance(entry, Mapping) or "status" not in entry:
        raise SyncWizardError(
            f"Jolokia at {url} sent an answer for {what} that is not a Jolokia response: "
            f"{_first_line(json.dumps(entry))}",
            hint="check that broker.jolokia_url points at a Jolokia endpoint",
            system="broker",
        )
    status = entry["status"]
    if status == 200:
        return entry.get("value")
    error = str(entry.get("error") or entry.get("error_type") or "no error text")
    if status == 403 and "Origin" in error and "not allowed" in error:
        raise SyncWizardError(
            f"Jolokia at {url} refused {what}: {error.removeprefix('java.lang.Exception : ')} "
            "(its CORS check refused our Origin header).",
            hint="the broker's conf/jolokia-access.xml restricts <cors>: add an "
            "<allow-origin> matching our Origin, or set broker.origin in the profile to one "
            "it allows",
            system="broker",
        )
    if status == 403 and (refusal := policy_refusal(url, error, what)) is not None:
        raise refusal
    if status == 403:
        raise SyncWizardError(
            f"Jolokia at {url} refused {what} by its access policy (status 403): {error}",
            hint="the broker's conf/jolokia-access.xml must <allow> read and exec on "
            "org.apache.activemq:*",
            system="broker",
        )
    if status == 404 and "InstanceNotFoundException" in error:
        raise SyncWizardError(
            f"Jolokia at {url}: {what} failed, no such MBean (the broker has no such "
            "destination or broker name).",
            hint="check the destination and broker names; list them with "
            "`syncwizard status` or the ActiveMQ console",
            system="broker",
        )
    raise SyncWizardError(
        f"Jolokia at {url}: {what} failed (status {status}): {error}",
        hint="see the broker's log for details",
        system="broker",
    )


def queue_stats_from(queue: str, value: Mapping[str, Any]) -> QueueStats:
    return QueueStats(
        name=queue,
        pending=int(value["QueueSize"]),
        enqueued=int(value["EnqueueCount"]),
        dequeued=int(value["DequeueCount"]),
        in_flight=int(value["InFlightCount"]),
        consumers=int(value["ConsumerCount"]),
    )


def topic_stats_from(topic: str, value: Mapping[str, Any]) -> TopicStats:
    return TopicStats(
        name=topic, enqueued=int(value["EnqueueCount"]), consumers=int(value["ConsumerCount"])
    )


def subscribers_from(
    topic: str, own_queue: str, answers: Sequence[Any], url: str
) -> TopicSubscribers:
    """The topic's other subscribers from the three reads of `topic_subscribers`: the
    `Consumer.*.<topic>` queues, the topic, and the broker's durable subscriptions."""
    queues_entry, topic_entry, durable_entry = answers
    others: list[Subscriber] = []
    if not is_missing_mbean(queues_entry):
        found = entry_value(url, queues_entry, f"the search for queues Consumer.*.{topic}") or {}
        for object_name, attributes in sorted(found.items()):
            name = parse_object_name(object_name).get("destinationName", "")
            if name and name != own_queue:
                attributes = attributes or {}
                others.append(
                    Subscriber(
                        name=name,
                        kind="queue",
                        consumers=int(attributes.get("ConsumerCount") or 0),
                        pending=int(attributes.get("QueueSize") or 0),
                    )
                )
    durable = entry_value(url, durable_entry, "reading the durable subscriptions") or {}
    for attribute, kind in (
        ("DurableTopicSubscribers", "durable subscription"),
        ("InactiveDurableTopicSubscribers", "inactive durable subscription"),
    ):
        for item in durable.get(attribute) or []:
            object_name = item.get("objectName", "") if isinstance(item, Mapping) else str(item)
            keys = parse_object_name(object_name)
            if keys.get("destinationName") != topic:
                continue
            # consumerId=Durable(<client id>_<subscription name>)
            client = keys.get("clientId", "?")
            consumer = keys.get("consumerId", "").removeprefix("Durable(").removesuffix(")")
            subscription = consumer.removeprefix(f"{client}_")
            others.append(
                Subscriber(
                    name=f"{client}/{subscription or '?'}",
                    kind=kind,
                    consumers=int(kind == "durable subscription"),
                )
            )
    topic_consumers = 0
    if not is_missing_mbean(topic_entry):
        value = entry_value(url, topic_entry, f"reading topic {topic}") or {}
        topic_consumers = int(value.get("ConsumerCount") or 0)
    return TopicSubscribers(topic=topic, others=tuple(others), topic_consumers=topic_consumers)


def is_missing_mbean(entry: Any) -> bool:
    return (
        isinstance(entry, Mapping)
        and entry.get("status") == 404
        and "InstanceNotFoundException" in str(entry.get("error", ""))
    )


def timestamp_ms(value: Any) -> int:
    """A JMSTimestamp as Jolokia serializes it (ISO 8601 text, or epoch) -> epoch milliseconds."""
    if isinstance(value, int | float):
        return int(value if value > 10**11 else value * 1000)
    return int(datetime.fromisoformat(str(value)).timestamp() * 1000)


def pick_sync_queue(consumers_by_queue: Mapping[str, int]) -> str:
    """The queue in use among several `Consumer.<guid>.*`: most consumers, then event2, legacy."""

    def rank(queue: str) -> tuple[int, int, str]:
        topic = queue.split(".", 2)[2] if queue.count(".") >= 2 else ""
        known = KNOWN_TOPICS.index(topic) if topic in KNOWN_TOPICS else len(KNOWN_TOPICS)
        preference = 0 if topic == EVENT2_TOPIC else 1 + known
        return (-consumers_by_queue[queue], preference, queue)

    return min(consumers_by_queue, key=rank)


def missing_queue_error(
    url: str, sync_id: str, topic: str | None, queues: Iterable[str], topics: Iterable[str]
) -> SyncWizardError:
    """The error for a sync queue that does not exist, listing what does exist."""
    wanted = sync_queue_name(sync_id, topic) if topic else f"Consumer.{sync_id}.*"
    existing = [f"queue {q}" for q in queues if q.startswith("Consumer.")]
    existing += [f"topic {t}" for t in topics if t in KNOWN_TOPICS or t.startswith("VirtualTopic.")]
    listing = ", ".join(existing) if existing else "none"
    return SyncWizardError(
        f"The broker at {url} has no queue {wanted} for sync id {sync_id}. "
        f"Sync-looking destinations that exist: {listing}.",
        hint="either the Sync Service has not subscribed yet (start it and wait a few seconds), "
        "or it is not subscribed and repository events are being dropped (a virtual topic "
        "copies events only into queues that exist), or the GUID is wrong (compare with "
        "syncServiceIdCheck in the health check)",
        system="broker",
    )


def _check_sync_id(sync_id: str) -> None:
    if not sync_id or _OBJECT_NAME_SPECIALS.intersection(sync_id):
        raise SyncWizardError(
            f"{sync_id!r} is not a sync id: expected a GUID like "
            "0d4e6f1a-30be-3d6e-9c1e-4a0b8c5f2e11",
            hint="the sync id is syncServiceIdCheck.message of the Sync Service health check",
            system="broker",
        )


# --- the client ---------------------------------------------------------------------------


class JolokiaClient:
    """One Jolokia endpoint, one HTTP connection kept open across polls."""

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        *,
        origin: str | None = None,
        timeout: float = 5.0,
        broker_name: str | None = None,
    ) -> None:
        self.url = url
        self.user = user
        self.origin = origin or origin_of(url)
        self.timeout = timeout  # for the whole call; httpx's timeouts bound each read only
        self._broker_name = broker_name
        self._client = httpx.AsyncClient(
            headers={
                # A fixed header rather than httpx.BasicAuth: no auth flow per request.
                "Authorization": basic_authorization(user, password),
                "Origin": self.origin,
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            timeout=timeout,
            follow_redirects=False,
        )
        self._stats_bodies: dict[tuple[str, str | None], bytes] = {}
        self._requests: dict[bytes, httpx.Request] = {}

    async def __aenter__(self) -> JolokiaClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _post(self, body: bytes) -> Any:
        # Requests polled every tick are built once: httpx's build_request costs more
        # CPU than the round trip on loopback.
        request = self._requests.get(body)
        if request is None:
            request = self._client.build_request("POST", self.url, content=body)
            if body in self._stats_bodies.values():
                self._requests[body] = request
        response: httpx.Response | None = None
        try:
            # One deadline for connect, request and every read: a trickling answer never
            # trips httpx's per-read timeout.
            async with asyncio.timeout(self.timeout):
                response = await self._client.send(request, stream=True)
                try:
                    body = await response.aread()
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            if response is None:
                raise SyncWizardError(
                    f"Jolokia at {self.url} did not answer within {self.timeout:g} s (the "
                    "deadline set by broker.timeout).",
                    hint="check that the broker runs and is not overloaded, and that "
                    "broker.jolokia_url is right (the console listens on port 8161 by default); "
                    "raise broker.timeout if it is only slow to answer",
                    system="broker",
                ) from None
            raise SyncWizardError(
                f"Jolokia at {self.url} answered too slowly: its answer was not complete "
                f"within the {self.timeout:g} s deadline (broker.timeout, the limit for the "
                "whole call).",
                hint="it started to answer, then trickled or stalled: the broker may be "
                "overloaded, or a proxy or the network in between holds the answer back; check "
                "the broker's load and what sits in between, and raise broker.timeout if the "
                "network is merely slow",
                system="broker",
            ) from None
        except httpx.HTTPError as exc:
            raise SyncWizardError(
                f"Cannot reach Jolokia at {self.url}: {exc or type(exc).__name__}.",
                hint="check that the broker and its web console run and that broker.jolokia_url "
                "is right (e.g. http://host:8161/api/jolokia)",
                system="broker",
            ) from None
        return decode_response(
            self.url,
            response.status_code,
            response.headers.get("content-type", ""),
            body,
            user=self.user,
            location=response.headers.get("location", ""),
        )

    async def request(self, payload: Mapping[str, Any], what: str) -> Any:
        """One Jolokia request; its value, or a SyncWizardError naming `what`."""
        answer = await self._post(json.dumps(payload).encode())
        return entry_value(self.url, answer, what)

    async def bulk(self, payloads: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Several requests in one POST; the raw answer entries, one per request."""
        return await self._bulk_body(json.dumps(payloads).encode(), len(payloads))

    async def _bulk_body(self, body: bytes, count: int) -> list[Any]:
        answer = await self._post(body)
        if isinstance(answer, Mapping):
            # A refusal of the whole request (Origin, policy) comes back as one object.
            entry_value(self.url, answer, "the bulk request")
        if not isinstance(answer, list) or len(answer) != count:
            raise SyncWizardError(
                f"Jolokia at {self.url} answered a bulk request of {count} with "
                f"{_first_line(json.dumps(answer))}",
                hint="check that broker.jolokia_url points at a Jolokia endpoint",
                system="broker",
            )
        return answer

    async def broker_name(self) -> str:
        """The broker's name (`brokerName` of its MBean), looked up once."""
        if self._broker_name is None:
            found = await self.request(
                {"type": "search", "mbean": broker_mbean("*")}, "the search for the broker MBean"
            )
            names = sorted(parse_object_name(n).get("brokerName", "") for n in found or [])
            names = [name for name in names if name]
            if not names:
                raise SyncWizardError(
                    f"Jolokia at {self.url} shows no ActiveMQ broker ({broker_mbean('*')}).",
                    hint="check that broker.jolokia_url is the console of an ActiveMQ 5.x broker "
                    "and that the broker has started",
                    system="broker",
                )
            self._broker_name = names[0]
        return self._broker_name

    async def _search_destinations(self, kind: str, pattern: str = "*") -> list[str]:
        broker = await self.broker_name()
        found = await self.request(
            {"type": "search", "mbean": destination_mbean(broker, kind, pattern)},
            f"the search for {kind.lower()}s {pattern}",
        )
        return destination_names(found or [])

    async def list_queues(self) -> list[str]:
        return await self._search_destinations("Queue")

    async def list_topics(self) -> list[str]:
        return await self._search_destinations("Topic")

    async def list_destinations(self) -> list[str]:
        """Every queue and topic, as ActiveMQ writes them: `queue://name`, `topic://name`."""
        broker = await self.broker_name()
        searches = [
            {"type": "search", "mbean": destination_mbean(broker, kind, "*")}
            for kind in ("Queue", "Topic")
        ]
        queues, topics = (
            destination_names(entry_value(self.url, entry, "the destination search") or [])
            for entry in await self.bulk(searches)
        )
        return [f"queue://{q}" for q in queues] + [f"topic://{t}" for t in topics]

    async def find_sync_queue(self, sync_id: str, topic: str | None = None) -> str:
        """The Sync Service's queue: `Consumer.<guid>.<topic>`, discovered when topic is None.

        One round trip: a read of ConsumerCount over an MBean pattern, which lists
        the matching queues with their consumers and names the broker (learnt here
        when it is not configured). Only a missing queue costs more, to say what exists.
        """
        _check_sync_id(sync_id)
        wanted = sync_queue_name(sync_id, topic) if topic else f"Consumer.{sync_id}.*"
        consumers = await self._consumers_of_queues(wanted)
        if not consumers:
            queues, topics = await self._queues_and_topics()
            raise missing_queue_error(self.url, sync_id, topic, queues, topics)
        return pick_sync_queue(consumers)

    async def _consumers_of_queues(self, pattern: str) -> dict[str, int]:
        """ConsumerCount of every queue whose name matches `pattern` (`*` wildcards), by
        name; empty when none does. Sets the broker's name from the answer if unknown."""
        mbean = destination_mbean(self._broker_name or "*", "Queue", pattern)
        read = {"type": "read", "mbean": mbean, "attribute": ["ConsumerCount"]}
        (entry,) = await self.bulk([read])
        if is_missing_mbean(entry):
            return {}
        value = entry_value(self.url, entry, f"the search for queues {pattern}") or {}
        if "*" not in mbean:  # one MBean: its attributes, not a map of MBeans
            return {pattern: int(value.get("ConsumerCount") or 0)}
        consumers: dict[str, int] = {}
        for object_name, attributes in value.items():
            keys = parse_object_name(object_name)
            name = keys.get("destinationName")
            if not name:
                continue
            if self._broker_name is None and keys.get("brokerName"):
                self._broker_name = keys["brokerName"]
            consumers[name] = int((attributes or {}).get("ConsumerCount") or 0)
        return consumers

    async def _queues_and_topics(self) -> tuple[list[str], list[str]]:
        destinations = await self.list_destinations()
        queues = [d.removeprefix("queue://") for d in destinations if d.startswith("queue://")]
        topics = [d.removeprefix("topic://") for d in destinations if d.startswith("topic://")]
        return queues, topics

    async def _stats_body(self, queue: str, topic: str | None) -> bytes:
        body = self._stats_bodies.get((queue, topic))
        if body is None:
            broker = await self.broker_name()
            reads: list[dict[str, Any]] = [
                {
                    "type": "read",
                    "mbean": destination_mbean(broker, "Queue", queue),
                    "attribute": list(QUEUE_ATTRIBUTES),
                }
            ]
            if topic:
                reads.append(
                    {
                        "type": "read",
                        "mbean": destination_mbean(broker, "Topic", topic),
                        "attribute": list(TOPIC_ATTRIBUTES),
                    }
                )
            body = json.dumps(reads).encode()
            self._stats_bodies[(queue, topic)] = body
        return body

    async def read_stats(
        self, queue: str, topic: str | None
    ) -> tuple[QueueStats, TopicStats | None]:
        """Queue counters and, if a topic is named, its counters, in one bulk POST.

        The topic's stats are None when the topic is not named, or does not exist (yet):
        ActiveMQ creates a topic on its first publish, the queue on its first subscribe.
        """
        body = await self._stats_body(queue, topic)
        answers = await self._bulk_body(body, 2 if topic else 1)
        queue_value = entry_value(self.url, answers[0], f"reading queue {queue}")
        queue_stats = queue_stats_from(queue, queue_value)
        if not topic or is_missing_mbean(answers[1]):
            return queue_stats, None
        topic_value = entry_value(self.url, answers[1], f"reading topic {topic}")
        return queue_stats, topic_stats_from(topic, topic_value)

    async def topic_subscribers(self, topic: str, own_queue: str) -> TopicSubscribers:
        """Who else takes `topic`'s events besides the sync queue `own_queue`: read before
        the topic is deleted (which takes their subscriptions and backlog with it) and to
        find orphaned queues. One bulk POST."""
        broker = await self.broker_name()
        reads = [
            {
                "type": "read",
                "mbean": destination_mbean(broker, "Queue", f"Consumer.*.{topic}"),
                "attribute": ["ConsumerCount", "QueueSize"],
            },
            {
                "type": "read",
                "mbean": destination_mbean(broker, "Topic", topic),
                "attribute": ["ConsumerCount"],
            },
            {
                "type": "read",
                "mbean": broker_mbean(broker),
                "attribute": ["DurableTopicSubscribers", "InactiveDurableTopicSubscribers"],
            },
        ]
        return subscribers_from(topic, own_queue, await self.bulk(reads), self.url)

    async def _exec(self, mbean: str, operation: str, arguments: list[Any], what: str) -> Any:
        payload = {"type": "exec", "mbean": mbean, "operation": operation, "arguments": arguments}
        return await self.request(payload, what)

    async def purge(self, queue: str) -> None:
        """Remove every message of `queue` (the console's Purge); the queue stays."""
        mbean = destination_mbean(await self.broker_name(), "Queue", queue)
        await self._exec(mbean, "purge()", [], f"purging queue {queue}")

    async def remove_queue(self, queue: str) -> None:
        """Delete `queue` with its messages; attached consumers are detached."""
        broker = await self.broker_name()
        await self._exec(
            broker_mbean(broker),
            "removeQueue(java.lang.String)",
            [queue],
            f"removing queue {queue}",
        )

    async def remove_topic(self, topic: str) -> None:
        broker = await self.broker_name()
        await self._exec(
            broker_mbean(broker),
            "removeTopic(java.lang.String)",
            [topic],
            f"removing topic {topic}",
        )

    async def add_queue(self, queue: str) -> None:
        """Create `queue` (the console's "Create"); used by the lab and tests."""
        broker = await self.broker_name()
        await self._exec(
            broker_mbean(broker), "addQueue(java.lang.String)", [queue], f"creating queue {queue}"
        )

    async def destroy_durable_subscription(self, client_id: str, name: str) -> None:
        """End a durable topic subscription (it must be inactive); used by tests."""
        broker = await self.broker_name()
        await self._exec(
            broker_mbean(broker),
            "destroyDurableSubscriber(java.lang.String,java.lang.String)",
            [client_id, name],
            f"ending the durable subscription {client_id}/{name}",
        )

    async def broker_clock(self) -> tuple[float, int, float]:
        """The broker's clock: (this host's time before asking, the epoch SECONDS Jolokia
        stamped its answer with, this host's time after the answer). Jolokia stamps every
        answer (`timestamp`) by the broker JVM's wall clock, in whole seconds; the read
        asked for is one the stats already need (the broker's name), so no policy that lets
        the wait run refuses it."""
        mbean = broker_mbean(await self.broker_name())
        payload = {"type": "read", "mbean": mbean, "attribute": "BrokerName"}
        before = time.time()
        answer = await self._post(json.dumps(payload).encode())
        after = time.time()
        entry_value(self.url, answer, "the read of the broker's name")
        stamp = answer.get("timestamp") if isinstance(answer, Mapping) else None
        if not isinstance(stamp, int) or isinstance(stamp, bool):
            raise SyncWizardError(
                f"Jolokia at {self.url} answered without its timestamp ({_first_line(str(stamp))}"
                "), so the broker's clock cannot be read",
                hint="check that broker.jolokia_url is Jolokia's endpoint (it stamps every "
                "answer); a proxy in between must pass the answer unchanged",
                system="broker",
            )
        return before, stamp, after

    async def oldest_pending_timestamp(self, queue: str) -> int | None:
        """Epoch ms of the oldest message among the first 400 pending, None if none pending.

        Jolokia 1.x serializes JMSTimestamp as ISO 8601 in whole seconds, so this rounds
        down to the second: a message looks at most 1 s older than it is.
        """
        mbean = destination_mbean(await self.broker_name(), "Queue", queue)
        payload = {
            "type": "exec",
            "mbean": mbean,
            "operation": "browse()",
            "path": "*/JMSTimestamp",
        }
        stamps = await self.request(payload, f"browsing queue {queue}")
        values = [timestamp_ms(stamp) for stamp in stamps or [] if stamp is not None]
        return min(values) if values else None

    async def non_persistent_ids(self, queue: str) -> list[str]:
        """The JMSMessageIDs of non-persistent messages among the first 400 pending (a
        broker restart would lose them). Browsing stays allowed by the hardened policy."""
        mbean = destination_mbean(await self.broker_name(), "Queue", queue)
        payload = {"type": "exec", "mbean": mbean, "operation": "browse()"}
        messages = await self.request(payload, f"browsing queue {queue}") or []
        return [
            str(message.get("JMSMessageID"))
            for message in messages
            if isinstance(message, dict)
            and str(message.get("JMSDeliveryMode", "")).upper().replace("-", "_")
            == "NON_PERSISTENT"
        ]

    async def dead_letters_from(self, queue: str, dlq: str = "ActiveMQ.DLQ") -> int:
        """How many messages on the dead-letter queue (the first 400 browsed) came from
        `queue`, by their OriginalDestination; 0 when there is no dead-letter queue."""
        mbean = destination_mbean(await self.broker_name(), "Queue", dlq)
        payload = {
            "type": "exec",
            "mbean": mbean,
            "operation": "browse()",
            "path": "*/OriginalDestination",
        }
        answer = await self._post(json.dumps(payload).encode())
        if is_missing_mbean(answer):
            return 0
        origins = entry_value(self.url, answer, f"browsing queue {dlq}") or []
        if isinstance(origins, Mapping):
            origins = list(origins.values())
        return sum(1 for origin in origins if origin and str(origin).split("://")[-1] == queue)
