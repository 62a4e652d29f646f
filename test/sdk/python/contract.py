"""The SDK contract scenario for the official Python svix SDK (2.x), run by test/sdk/python.test.ts.

Drives a running hookd (HOOKD_URL, HOOKD_TOKEN) only through the SDK; deliveries go to the test's receiver
(RECEIVER_URL), whose recorded requests and failing paths are read and set through RECEIVER_CONTROL_URL.
Every scenario runs (one failing does not stop the others) and stops at its first failed check or SDK error.
Prints one JSON line: {"sdk": version, "scenarios": [{"name", "ok", "error"?}]}.
"""

import base64
import json
import os
import sys
import time
import traceback
from datetime import datetime, timedelta, timezone

import httpx
import svix
from svix.api import (
    ApplicationIn,
    BackgroundTaskListOptions,
    BackgroundTaskType,
    BulkReplayIn,
    EnvironmentIn,
    EventTypeImportOpenApiIn,
    OperationalWebhookEndpointIn,
    ApplicationPatch,
    EndpointHeadersIn,
    EndpointHeadersPatchIn,
    EndpointIn,
    EndpointPatch,
    EndpointSecretRotateIn,
    EndpointUpsertIn,
    EventExampleIn,
    EventTypeDeleteOptions,
    EventTypeIn,
    EventTypeListOptions,
    EventTypePatch,
    EventTypeUpsertIn,
    ApplicationListOptions,
    MessageAttemptListByEndpointOptions,
    MessageAttemptListByMsgOptions,
    MessageAttemptTriggerType,
    MessageCreateOptions,
    MessageGetOptions,
    MessageIn,
    MessageListOptions,
    MessageStatus,
    MessageStatusText,
    RecoverIn,
    ReplayIn,
    StatusCodeClass,
    Svix,
    SvixOptions,
)
from svix.exceptions import HttpError
from svix.webhooks import Webhook

HOOKD_URL = os.environ["HOOKD_URL"]
RECEIVER_URL = os.environ["RECEIVER_URL"]
CONTROL_URL = os.environ["RECEIVER_CONTROL_URL"]
sdk = Svix(os.environ["HOOKD_TOKEN"], SvixOptions(server_url=HOOKD_URL))
control = httpx.Client(timeout=10)

THROTTLE_RATE = int(os.environ["THROTTLE_RATE"])
THROTTLE_MESSAGES = int(os.environ["THROTTLE_MESSAGES"])


# ---- checks ---------------------------------------------------------------------------------------------------


def check(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def check_true(condition, what):
    if not condition:
        raise AssertionError(what)


def expect_http_error(call, status, what):
    """Runs `call`, which must fail with the SDK's HttpError carrying HTTP `status`."""
    try:
        call()
    except HttpError as error:
        check(error.status_code, status, f"{what}: HTTP status")
        return error
    raise AssertionError(f"{what}: expected an HttpError with HTTP {status}, but the call succeeded")


def wait_for(condition, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def starts_with(value, prefix, what):
    check_true(isinstance(value, str) and value.startswith(prefix), f"{what}: expected {prefix}..., got {value!r}")


# ---- the receiver -------------------------------------------------------------------------------------------


def received(path):
    return [r for r in control.get(f"{CONTROL_URL}/requests").json() if r["path"] == path]


def set_failing(paths):
    control.put(f"{CONTROL_URL}/failing", json=list(paths)).raise_for_status()


def verify(secret, request):
    """Verifies a delivered request with the SDK's own Webhook class; returns its parsed payload."""
    Webhook(secret).verify(request["body"], request["headers"])
    return json.loads(request["body"])


# ---- scenarios ----------------------------------------------------------------------------------------------


def applications():
    created = sdk.application.create(ApplicationIn(name="Acme", uid="py-acme", metadata={"tier": "gold"}))
    starts_with(created.id, "app_", "created id")
    check(created.metadata, {"tier": "gold"}, "created metadata")
    check(sdk.application.get("py-acme").id, created.id, "get by uid")
    other = sdk.application.create(ApplicationIn(name="Other"))
    page = sdk.application.list(ApplicationListOptions(limit=1))
    check([a.id for a in page.data], [created.id], "first page")
    check(page.done, False, "first page done")
    rest = sdk.application.list(ApplicationListOptions(limit=1, iterator=page.iterator))
    check([a.id for a in rest.data], [other.id], "second page")

    updated = sdk.application.upsert("py-acme", ApplicationIn(name="Acme Inc", uid="py-acme"))
    check(updated.id, created.id, "upsert of an existing uid updates it")
    check(updated.name, "Acme Inc", "upserted name")
    check(updated.metadata, {}, "PUT replaces: metadata not given is cleared")
    made = sdk.application.upsert("py-made-by-put", ApplicationIn(name="Upserted", uid="py-made-by-put"))
    starts_with(made.id, "app_", "upsert of a missing uid creates it")
    check(sdk.application.get("py-made-by-put").name, "Upserted", "created by upsert")

    patched = sdk.application.patch("py-acme", ApplicationPatch(metadata={"plan": "pro"}))
    check(patched.name, "Acme Inc", "PATCH keeps fields not given")
    check(patched.metadata, {"plan": "pro"}, "patched metadata")

    sdk.application.delete(created.id)
    error = expect_http_error(lambda: sdk.application.get("py-acme"), 404, "get after delete")
    check(error.code, "not_found", "error code")


def endpoints():
    for name in ["py.user.created", "py.user.deleted", "py.order.paid"]:
        sdk.event_type.create(EventTypeIn(name=name, description=name))
    app = sdk.application.create(ApplicationIn(name="Endpoints"))
    old_secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    ep = sdk.endpoint.create(
        app.id,
        EndpointIn(
            url=f"{RECEIVER_URL}/py-hook",
            uid="main-ep",
            description="primary",
            event_types=["py.user.created", "py.user.deleted"],
            throttle_rate=10,
            channels=["eu"],
            headers={"x-initial": "a"},
            secret=old_secret,
            metadata={"owner": "team-a"},
        ),
    )
    starts_with(ep.id, "ep_", "endpoint id")
    check(ep.event_types, ["py.user.created", "py.user.deleted"], "created eventTypes")
    check(ep.throttle_rate, 10, "created throttleRate")
    check(ep.channels, ["eu"], "created channels")
    check(ep.metadata, {"owner": "team-a"}, "created metadata")
    fetched = sdk.endpoint.get(app.id, "main-ep")
    check(fetched.id, ep.id, "get by uid")
    check((fetched.event_types, fetched.throttle_rate), (["py.user.created", "py.user.deleted"], 10), "stored eventTypes and throttleRate")
    check([e.id for e in sdk.endpoint.list(app.id).data], [ep.id], "list")

    upserted = sdk.endpoint.upsert(
        app.id, "main-ep", EndpointUpsertIn(url=f"{RECEIVER_URL}/py-hook", uid="main-ep", event_types=["py.order.paid"], throttle_rate=20)
    )
    check(upserted.id, ep.id, "upsert of an existing uid updates it")
    check((upserted.event_types, upserted.throttle_rate), (["py.order.paid"], 20), "upserted eventTypes and throttleRate")
    check(upserted.channels, None, "PUT clears channels not given")
    made = sdk.endpoint.upsert(app.id, "made-by-put", EndpointUpsertIn(url=f"{RECEIVER_URL}/py-made", uid="made-by-put"))
    starts_with(made.id, "ep_", "upsert of a missing uid creates it")
    check(sdk.endpoint.get(app.id, "made-by-put").id, made.id, "created by upsert")

    patched = sdk.endpoint.patch(app.id, ep.id, EndpointPatch(throttle_rate=30, event_types=["py.user.created"], description="patched"))
    check((patched.throttle_rate, patched.event_types, patched.description), (30, ["py.user.created"], "patched"), "patched fields")
    check(patched.uid, "main-ep", "PATCH keeps fields not given")

    sdk.endpoint.set_headers(app.id, ep.id, EndpointHeadersIn(headers={"x-team": "payments", "x-keep": "yes"}))
    sdk.endpoint.patch_headers(app.id, ep.id, EndpointHeadersPatchIn(headers={"x-team": "billing"}, delete_headers=["x-keep"]))
    check(sdk.endpoint.get_headers(app.id, ep.id).headers, {"x-team": "billing"}, "headers after set and patch")

    check(sdk.endpoint.get_secret(app.id, ep.id).key, old_secret, "explicit secret")
    rotated = sdk.endpoint.rotate_secret(app.id, ep.id, EndpointSecretRotateIn())
    new_key = sdk.endpoint.get_secret(app.id, ep.id).key
    starts_with(new_key, "whsec_", "rotated secret")
    check_true(new_key != old_secret, "rotation changed the secret")
    check(rotated.key, new_key, "rotate_secret answers the new secret")

    msg = sdk.message.create(app.id, MessageIn(event_type="py.user.created", payload={"n": 1}))
    delivered = wait_for(lambda: received("/py-hook"), "the delivery")[0]
    check(delivered["headers"]["webhook-id"], msg.id, "webhook-id")
    check(delivered["headers"].get("x-team"), "billing", "custom header delivered")
    check(delivered["headers"].get("x-keep"), None, "deleted header not delivered")
    check(len(delivered["headers"]["webhook-signature"].split(" ")), 2, "old and new secret both sign during the grace period")
    check(verify(old_secret, delivered), {"n": 1}, "verifies with the old secret")
    check(verify(new_key, delivered), {"n": 1}, "verifies with the new secret")

    sdk.endpoint.delete(app.id, ep.id)
    expect_http_error(lambda: sdk.endpoint.get(app.id, ep.id), 404, "get after delete")
    check([e.id for e in sdk.endpoint.list(app.id).data], [made.id], "list after delete")


def filter_and_throttle():
    for name in ["py.flow.user", "py.flow.invoice", "py.flow.tick"]:
        sdk.event_type.create(EventTypeIn(name=name, description=name))
    app = sdk.application.create(ApplicationIn(name="Flow"))
    filtered = sdk.endpoint.create(app.id, EndpointIn(url=f"{RECEIVER_URL}/py-filtered", event_types=["py.flow.invoice"]))
    sdk.endpoint.create(app.id, EndpointIn(url=f"{RECEIVER_URL}/py-throttled", event_types=["py.flow.tick"], throttle_rate=THROTTLE_RATE))
    sdk.endpoint.create(app.id, EndpointIn(url=f"{RECEIVER_URL}/py-all"))
    secret = sdk.endpoint.get_secret(app.id, filtered.id).key

    user = sdk.message.create(app.id, MessageIn(event_type="py.flow.user", payload={"n": 1}))
    invoice = sdk.message.create(app.id, MessageIn(event_type="py.flow.invoice", payload={"n": 2}))
    for i in range(THROTTLE_MESSAGES):
        sdk.message.create(app.id, MessageIn(event_type="py.flow.tick", payload={"i": i}))
    wait_for(
        lambda: len(received("/py-all")) == THROTTLE_MESSAGES + 2 and len(received("/py-throttled")) >= THROTTLE_MESSAGES,
        "unfiltered and throttled deliveries",
        timeout=15,
    )
    time.sleep(0.3)
    check([r["headers"]["webhook-id"] for r in received("/py-filtered")], [invoice.id], "the filtered endpoint got only its event type")
    check(len(received("/py-throttled")), THROTTLE_MESSAGES, "the throttled endpoint got only its event type")
    check(verify(secret, received("/py-filtered")[0]), {"n": 2}, "filtered delivery verifies")
    check_true(any(r["headers"]["webhook-id"] == user.id for r in received("/py-all")), "the unfiltered endpoint got the other type")
    # The arrival times are checked by the node side (assertThrottled), the same check as for the JS SDKs.


def messages():
    app = sdk.application.create(ApplicationIn(name="Messages"))
    ep = sdk.endpoint.create(app.id, EndpointIn(url=f"{RECEIVER_URL}/py-m"))
    secret = sdk.endpoint.get_secret(app.id, ep.id).key
    payload = {"user": {"id": 42, "name": "Zoë"}}

    msg = sdk.message.create(app.id, MessageIn(event_type="user.created", event_id="evt-1", payload=payload, channels=["eu"], tags=["t1"]))
    starts_with(msg.id, "msg_", "message id")
    check((msg.event_id, msg.channels), ("evt-1", ["eu"]), "created eventId and channels")
    check(msg.payload, {}, "2.x asks for with_content=false unless told otherwise")
    with_content = sdk.message.create(app.id, MessageIn(event_type="user.created", event_id="evt-2", payload={"n": 2}), MessageCreateOptions(with_content=True))
    check(with_content.payload, {"n": 2}, "with_content=True answers the payload")
    error = expect_http_error(
        lambda: sdk.message.create(app.id, MessageIn(event_type="user.created", event_id="evt-1", payload={"other": True})), 409, "repeated eventId"
    )
    check(error.code, "conflict", "error code")

    check(sdk.message.get(app.id, msg.id, MessageGetOptions(with_content=True)).payload, payload, "get with content")
    check(sdk.message.get(app.id, "evt-1").id, msg.id, "get by eventId")
    listed = sdk.message.list(app.id, MessageListOptions(with_content=True))
    check([m.id for m in listed.data], [with_content.id, msg.id], "list, newest first")
    check(listed.data[1].payload, payload, "listed payload")

    wait_for(lambda: len(received("/py-m")) == 2, "both deliveries")
    first = next(r for r in received("/py-m") if r["headers"]["webhook-id"] == msg.id)
    check(verify(secret, first), payload, "delivered payload verifies")

    sdk.message.expunge_content(app.id, msg.id)
    expunged = sdk.message.get(app.id, msg.id, MessageGetOptions(with_content=True))
    check(expunged.id, msg.id, "the message itself stays")
    check(expunged.payload, {"expired": True}, 'Svix answers an expunged payload as {"expired": true}')


def attempts():
    set_failing(["/py-flaky"])
    sdk.event_type.create(EventTypeIn(name="py.invoice.paid", description="Paid", schemas={"1": {"type": "object", "examples": [{"invoice": "inv_1", "amount": 42}]}}))
    app = sdk.application.create(ApplicationIn(name="Attempts"))
    good = sdk.endpoint.create(app.id, EndpointIn(url=f"{RECEIVER_URL}/py-good"))
    flaky = sdk.endpoint.create(app.id, EndpointIn(url=f"{RECEIVER_URL}/py-flaky"))
    flaky_secret = sdk.endpoint.get_secret(app.id, flaky.id).key
    since = datetime.now(timezone.utc) - timedelta(seconds=1)

    m1 = sdk.message.create(app.id, MessageIn(event_type="job.done", event_id="job-1", payload={"job": 1}))

    def flaky_status(msg_id):
        return next((d.status_text for d in sdk.message_attempt.list_attempted_destinations(app.id, msg_id).data if d.id == flaky.id), None)

    wait_for(lambda: flaky_status(m1.id) == MessageStatusText.FAIL, "the flaky delivery to fail")

    ok = sdk.message_attempt.list_by_endpoint(app.id, good.id, MessageAttemptListByEndpointOptions(with_content=True)).data[0]
    check((ok.status, ok.status_text, ok.response_status_code, ok.response), (MessageStatus.SUCCESS, MessageStatusText.SUCCESS, 200, "ok"), "good attempt")
    check((ok.trigger_type, ok.msg_id), (MessageAttemptTriggerType.SCHEDULED, m1.id), "good attempt trigger and message")
    starts_with(ok.id, "atmpt_", "attempt id")
    bare = sdk.message_attempt.list_by_endpoint(app.id, good.id).data[0]
    check(bare.response, "{}", "2.x asks for with_content=false, and Svix then answers the response as '{}'")
    fives = sdk.message_attempt.list_by_msg(app.id, m1.id, MessageAttemptListByMsgOptions(status_code_class=StatusCodeClass.CODE5XX, with_content=True)).data
    check(len(fives), 3, "first attempt and two retries answered 500")
    for a in fives:
        check((a.endpoint_id, a.response_status_code, a.response, a.status_text), (flaky.id, 500, "boom", MessageStatusText.FAIL), "failed attempt")
    twos = sdk.message_attempt.list_by_msg(app.id, m1.id, MessageAttemptListByMsgOptions(status_code_class=StatusCodeClass.CODE2XX)).data
    check([a.endpoint_id for a in twos], [good.id], "2xx attempts of the message")
    flaky_twos = sdk.message_attempt.list_by_endpoint(app.id, flaky.id, MessageAttemptListByEndpointOptions(status_code_class=StatusCodeClass.CODE2XX)).data
    check(flaky_twos, [], "2xx attempts of the flaky endpoint")

    attempted = sdk.message_attempt.list_attempted_messages(app.id, flaky.id).data
    check([(m.id, m.event_id, m.status_text) for m in attempted], [(m1.id, "job-1", MessageStatusText.FAIL)], "list_attempted_messages")
    destinations = sdk.message_attempt.list_attempted_destinations(app.id, m1.id).data
    check(sorted(d.id for d in destinations), sorted([good.id, flaky.id]), "list_attempted_destinations")
    stats = sdk.endpoint.get_stats(app.id, flaky.id)
    check((stats.success, stats.pending, stats.sending, stats.fail, stats.canceled), (0, 0, 0, 1, 0), "flaky endpoint stats")

    set_failing([])
    resent = sdk.message_attempt.resend(app.id, m1.id, flaky.id)
    check(resent.model_dump(), {}, "resend answers an empty object")

    def manual_success():
        page = sdk.message_attempt.list_by_msg(app.id, m1.id, MessageAttemptListByMsgOptions(endpoint_id=flaky.id, status=MessageStatus.SUCCESS))
        return page.data[0] if page.data else None

    manual = wait_for(manual_success, "the resend to succeed")
    check((manual.trigger_type, manual.response_status_code), (MessageAttemptTriggerType.MANUAL, 200), "manual attempt")

    set_failing(["/py-flaky"])
    m2 = sdk.message.create(app.id, MessageIn(event_type="job.done", payload={"job": 2}))
    wait_for(lambda: flaky_status(m2.id) == MessageStatusText.FAIL, "m2 to fail")
    set_failing([])
    before = len(received("/py-flaky"))
    recovered = sdk.endpoint.recover(app.id, flaky.id, RecoverIn(since=since))
    starts_with(recovered.id, "qtask_", "recover task id")
    check(recovered.task.value, "endpoint.recover", "recover task type")
    check_true(recovered.status.value in ("running", "finished"), f"recover status {recovered.status}")
    again = wait_for(lambda: received("/py-flaky")[before:], "the recovered delivery")
    check([r["headers"]["webhook-id"] for r in again], [m2.id], "recover resends only the failed message")
    check(verify(flaky_secret, again[0]), {"job": 2}, "recovered delivery verifies")
    wait_for(lambda: sdk.endpoint.get_stats(app.id, flaky.id).success == 2, "both messages delivered")

    good_secret = sdk.endpoint.get_secret(app.id, good.id).key
    example = sdk.endpoint.send_example(app.id, good.id, EventExampleIn(event_type="py.invoice.paid"))
    starts_with(example.id, "msg_", "send_example message id")
    check(example.event_type, "py.invoice.paid", "send_example event type")
    sent = wait_for(lambda: [r for r in received("/py-good") if r["headers"]["webhook-id"] == example.id], "the example delivery")[0]
    check(verify(good_secret, sent), {"invoice": "inv_1", "amount": 42}, "the example payload verifies")
    time.sleep(0.3)
    check_true(all(r["headers"]["webhook-id"] != example.id for r in received("/py-flaky")), "send-example goes to the one endpoint")

    # An endpoint added afterwards gets what it missed of its event type, once: m1 and m2, not the example.
    try:
        sdk.event_type.create(EventTypeIn(name="job.done", description="Done"))
    except HttpError as error:
        check(error.status_code, 409, "job.done is in the catalog already")
    late = sdk.endpoint.create(app.id, EndpointIn(url=f"{RECEIVER_URL}/py-late", event_types=["job.done"]))
    late_secret = sdk.endpoint.get_secret(app.id, late.id).key
    replayed = sdk.endpoint.replay_missing(app.id, late.id, ReplayIn(since=since))
    starts_with(replayed.id, "qtask_", "replay task id")
    check(replayed.task.value, "endpoint.replay", "replay task type")
    check_true(replayed.status.value in ("running", "finished"), f"replay status {replayed.status}")
    missed = wait_for(lambda: received("/py-late") if len(received("/py-late")) == 2 else None, "the missed messages")
    check(sorted(r["headers"]["webhook-id"] for r in missed), sorted([m1.id, m2.id]), "replay sends what the endpoint missed")
    check(sorted(verify(late_secret, r)["job"] for r in missed), [1, 2], "replayed deliveries verify")
    task = sdk.background_task.get(replayed.id)
    check((task.id, task.task.value, task.status.value), (replayed.id, "endpoint.replay", "finished"), "the replay's task, polled")
    check((task.data["endpointId"], task.data["messagesSent"]), (late.id, 2), "the replay task's data")
    listed = sdk.background_task.list(BackgroundTaskListOptions(task=BackgroundTaskType.ENDPOINT_REPLAY, limit=250))
    check_true(any(t.id == replayed.id for t in listed.data), "the replay task is listed")
    check_true(all(t.task == BackgroundTaskType.ENDPOINT_REPLAY for t in listed.data), "replays only")
    check_true(recovered.id not in [t.id for t in listed.data], "the recovery is not a replay")
    sdk.endpoint.replay_missing(app.id, late.id, ReplayIn(since=since))
    time.sleep(0.3)
    check(len(received("/py-late")), 2, "a second replay sends nothing")


def event_types():
    schemas = {"1": {"type": "object", "examples": [{"id": 1}]}}
    created = sdk.event_type.create(EventTypeIn(name="py.et.created", description="A user signed up", schemas=schemas))
    check((created.name, created.deprecated, created.schemas), ("py.et.created", False, schemas), "created event type")
    expect_http_error(lambda: sdk.event_type.create(EventTypeIn(name="py.et.created", description="again")), 409, "duplicate name")
    check(sdk.event_type.get("py.et.created").description, "A user signed up", "get")

    updated = sdk.event_type.upsert("py.et.created", EventTypeUpsertIn(description="Signed up", deprecated=True, group_name="users"))
    check((updated.description, updated.deprecated, updated.group_name), ("Signed up", True, "users"), "upsert of an existing name updates it")
    made = sdk.event_type.upsert("py.et.deleted", EventTypeUpsertIn(description="Created by PUT"))
    check((made.name, made.description), ("py.et.deleted", "Created by PUT"), "upsert of a missing name creates it")
    names = [e.name for e in sdk.event_type.list(EventTypeListOptions(limit=250)).data]
    check_true({"py.et.created", "py.et.deleted"} <= set(names), f"both listed: {names}")

    patched = sdk.event_type.patch("py.et.created", EventTypePatch(description="Registered"))
    check((patched.description, patched.deprecated), ("Registered", True), "PATCH keeps fields not given")

    sdk.event_type.delete("py.et.created")
    check(sdk.event_type.get("py.et.created").archived, True, "delete archives by default")
    check_true("py.et.created" not in [e.name for e in sdk.event_type.list(EventTypeListOptions(limit=250)).data], "archived types are not listed")
    archived = [e.name for e in sdk.event_type.list(EventTypeListOptions(limit=250, include_archived=True)).data]
    check_true("py.et.created" in archived, "include_archived lists it")
    sdk.event_type.delete("py.et.deleted", EventTypeDeleteOptions(expunge=True))
    expect_http_error(lambda: sdk.event_type.get("py.et.deleted"), 404, "get after expunge")


def operations():
    # Operational webhook endpoints: the operator application's endpoints.
    ops = sdk.operational_webhook.endpoint.create(OperationalWebhookEndpointIn(url=f"{RECEIVER_URL}/py-ops", event_types=["endpoint.disabled"]))
    starts_with(ops.id, "ep_", "operational webhook endpoint id")
    check([e.id for e in sdk.operational_webhook.endpoint.list().data], [ops.id], "operational webhook endpoints listed")
    starts_with(sdk.operational_webhook.endpoint.get_secret(ops.id).key, "whsec_", "its secret")
    sdk.operational_webhook.endpoint.delete(ops.id)
    check(sdk.operational_webhook.endpoint.list().data, [], "deleted")

    # Event types from OpenAPI (a dry run: to_modify), then the environment export that lists them.
    spec = "webhooks:\n  py.imported:\n    post:\n      description: Imported from OpenAPI\n"
    dry = sdk.event_type.import_openapi(EventTypeImportOpenApiIn(spec_raw=spec, dry_run=True))
    check([t.name for t in dry.data.to_modify or []], ["py.imported"], "a dry run's to_modify")
    sdk.event_type.import_openapi(EventTypeImportOpenApiIn(spec_raw=spec))
    check(sdk.event_type.get("py.imported").description, "Imported from OpenAPI", "imported event type")
    exported = sdk.environment.export()
    check_true("py.imported" in [e.name for e in exported.event_types], "the export lists it")
    sdk.environment.import_(EnvironmentIn(event_types=[EventTypeIn(name="py.environment", description="From an environment")]))
    check(sdk.event_type.get("py.environment").description, "From an environment", "imported from an environment")

    # A bulk replay of what an endpoint had, and an expunge of every payload: both background tasks.
    app = sdk.application.create(ApplicationIn(name="py operations"))
    ep = sdk.endpoint.create(app.id, EndpointIn(url=f"{RECEIVER_URL}/py-bulk"))
    since = datetime.now(timezone.utc) - timedelta(minutes=1)
    msg = sdk.message.create(app.id, MessageIn(event_type="py.bulk", payload={"n": 1}))
    wait_for(lambda: sdk.endpoint.get_stats(app.id, ep.id).success == 1 or None, "the first delivery")
    replayed = sdk.endpoint.bulk_replay(app.id, ep.id, BulkReplayIn(since=since, status=MessageStatus.SUCCESS))
    check(replayed.task.value, "endpoint.bulk-replay", "bulk replay task")
    check(sdk.background_task.get(replayed.id).data["messagesSent"], 1, "bulk replay sent one")
    wait_for(lambda: len([r for r in received("/py-bulk") if r["headers"]["webhook-id"] == msg.id]) == 2 or None, "the replayed delivery")
    purged = sdk.message.expunge_all_contents(app.id)
    check(purged.task.value, "application.purge_content", "expunge-all task")
    check(sdk.background_task.get(purged.id).data["messagesPurged"], 1, "one payload expunged")


SCENARIOS = [applications, endpoints, filter_and_throttle, messages, attempts, event_types, operations]


def describe(error):
    if isinstance(error, HttpError):  # its str() lacks the HTTP status
        return f"HttpError: HTTP {error.status_code} {error.to_dict()}"
    return f"{type(error).__name__}: {error}"


def run(scenario):
    try:
        scenario()
        return {"name": scenario.__name__, "ok": True}
    except Exception as error:  # an SDK error is a finding to report, like a failed check
        return {"name": scenario.__name__, "ok": False, "error": describe(error), "trace": traceback.format_exc()}


if __name__ == "__main__":
    report = {"sdk": svix.__version__, "scenarios": [run(s) for s in SCENARIOS]}
    sys.stdout.write(json.dumps(report) + "\n")
