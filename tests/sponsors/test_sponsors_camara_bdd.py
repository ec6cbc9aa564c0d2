"""The CAMARA project's own scenarios (``sponsored-data.feature``, read from
``../shared/specs/camara-sponsored-data``) run against haoka with pytest-bdd.

The feature states preconditions loosely ("valid path parameters" for an active session and
for one whose data is exhausted alike): the world a scenario needs is made from its tag.
Where the YAML and the feature disagree, haoka follows the YAML and the steps compare through
:data:`YAML_SPELLING` (eventType ``DATA_VOLUME_THRESHOLD_EXCEEDED (80%)`` and
``DATA_VOLUME_EXHASTED`` in the YAML's enum; ``datacontenttype`` in its schema, which haoka
also sends as ``dataContentType``). Inapplicable: 501 NOT_IMPLEMENTED (every operation of
the YAML is implemented) and 502 BAD_GATEWAY (haoka is the network's own charging system:
no upstream it would proxy) - skipped below with that reason."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import OperationalError
from pytest_bdd import given, parsers, scenarios, then, when

from haoka.accounts import operations as account_ops
from haoka.charging import sponsored
from haoka.sponsors import camara, camara_webhooks, campaigns
from haoka.sponsors import camara_domain as cd
from haoka.sponsors.models import CampaignEvent
from tests.support import camara as support
from tests.support.camara import ROOT, World
from tests.support.charging import BASE, charging_token, data_unit, post, request_body

pytestmark = pytest.mark.django_db
scenarios(str(support.FEATURE_PATH))

YAML_SPELLING = {
    "DATA_VOLUME_THRESHOLD_EXCEEDED": "DATA_VOLUME_THRESHOLD_EXCEEDED (80%)",
    "DATA_VOLUME_EXHAUSTED": "DATA_VOLUME_EXHASTED",
}
INAPPLICABLE = {
    "not_implemented": "501 NOT_IMPLEMENTED: every operation of the YAML is implemented",
    "bad_gateway": "502 BAD_GATEWAY: haoka is the charging system itself, no upstream to proxy",
}


@pytest.fixture
def world(request, client, catalog, now):
    sponsored.forget_cached()
    made = World(request, client, now)
    yield made
    made.sink.stop()


def _names(text: str) -> list[str]:
    return [
        part.strip().strip('"') for part in text.replace(" and ", ",").split(",") if part.strip()
    ]


def _value(world: World, path: str):
    value = world.response.json()
    for key in path.removeprefix("$.").split("."):
        value = value[key]
    return value


# ---------------------------------------------------------------- background


@given(parsers.parse('an environment at "{root}"'))
def _environment(world, root):
    assert root == "apiRoot"


@given(parsers.parse('the base resource "{base}"'))
def _base(world, base):
    assert base == ROOT


@given(parsers.parse('the header "{name}" is set to "{value}"'))
def _header(world, name, value):
    world.headers[name] = value


@given('the header "accessToken" is set to a valid access token')
def _token(world):
    world.headers["accessToken"] = world.token


@given(parsers.parse('the header "x-correlator" complies with the schema at "{ref}"'))
def _correlator(world, ref):
    world.headers["x-correlator"] = str(uuid.uuid4())
    assert cd.valid_correlator(world.headers["x-correlator"])


# ---------------------------------------------------------------- requests


@given(parsers.parse('the resource "{resource}"'))
def _resource(world, resource):
    world.resource = resource


@given(
    parsers.re(
        r"the request body (is set to a valid object including|includes valid) (?P<names>.+)$"
    )
)
def _valid_body(world, names):
    body = world.valid_start() if world.body is None else world.body
    if world.resource == "/campaign/management" or "action" in names:
        sid, cid = support.ids(world.campaign)
        action = names.rsplit('"', 2)[-2] if "set to" in names else "pause"
        body = {"sponsorId": sid, "campaignId": cid, "action": action}
    elif "webhookUrl" in names and "sponsorId" not in names:
        body = {"webhookUrl": world.sink.url, "callbackToken": "sink-token"}
    for name in _names(names):
        assert name in body or name.startswith("action") or name == "identifiers", name
    world.body = body


@given(
    parsers.parse(
        'the request body property "$.{key}" is set to a valid integer within [{low:d},{high:d}]'
    )
)
def _integer(world, key, low, high):
    world.body = {**(world.body or world.valid_start()), key: (low + high) // 2}


@given(parsers.parse("the request body properties {names} are set to boolean values"))
def _booleans(world, names):
    for i, name in enumerate(_names(names)):
        world.body[name.removeprefix("$.")] = i % 2 == 0


@given('the request body property "$.webhookUrl" is set to an invalid URL')
def _invalid_url(world):
    world.body = {**(world.body or {}), "webhookUrl": "not a url"}


@given('the request body includes a valid "callbackToken"')
def _callback_token(world):
    world.body["callbackToken"] = "sink-token"


@given("the request body is set to any value not compliant with the operation schema")
def _not_compliant(world):
    world.body = {"sponsorId": 42, "campaignId": [], "phoneNumber": "12"}


@given("the request body is set to a valid object")
def _a_valid_object(world):
    world.body = world.valid_start()


@given("the request body is set to any value")
def _any_value(world):
    world.body = "sponsorId=1"


@given(parsers.parse('the header "{name}" is removed'))
def _removed(world, name):
    world.headers.pop(name, None)


@given(parsers.parse('the header "{name}" is set to an unsupported media type'))
def _unsupported(world, name):
    world.headers[name] = "text/plain"


@given('the header "accessToken" is set to a token without required scope or inconsistent context')
def _no_scope(world, now):
    world.headers["accessToken"] = account_ops.create_api_token(
        name="not-a-sponsor", scopes=["charging"], username=None, now=now
    ).token


@given(parsers.re(r"valid path parameters for (?P<names>.+)$"))
def _path_params(world, names):
    sid, cid = support.ids(world.campaign)
    world.params = {"sponsorId": sid, "campaignId": cid}
    if "sessionId" in names:
        world.params["sessionId"] = _session_for(world)
    if world.tagged("activeSponsorships"):
        world.start()
        world.start()
    if world.tagged("campaignStatus_02"):
        world.at = world.campaign.valid_to + dt.timedelta(minutes=1)
        campaigns.end_expired(now=world.at)


def _session_for(world) -> str:
    started = world.start(dataVolume=10)
    if world.tagged("sessionStatus_02"):
        line = camara_line(started["sessionId"])
        _use(world, line, 12 * cd.MB)
        sponsored.settle(now=world.now)
    return started["sessionId"]


def camara_line(session_id: str):
    from haoka.lines.models import Line  # noqa: PLC0415  (the test reads the line it made)
    from haoka.sponsors.camara_models import CamaraSession  # noqa: PLC0415

    return Line.objects.get(pk=CamaraSession.objects.get(session_id=session_id).line_id)


def _use(world, line, used: int) -> None:
    token = charging_token(world.now)
    first = request_body(line, seq=0, units=[data_unit(1003, request=used)], at=world.now)
    created = post(world.client, BASE, first, token)
    ref = created["Location"].rsplit("/", 1)[1]
    last = request_body(line, seq=1, units=[data_unit(1003, used=used)], at=world.now)
    assert post(world.client, f"{BASE}/{ref}/release", last, token).status_code == 204


@given("path parameters referencing a non-existing resource")
def _missing(world):
    sid, cid = support.ids(world.campaign)
    world.params = {"sponsorId": sid, "campaignId": cid, "sessionId": str(uuid.uuid4())}


@given("invalid/inconsistent identifiers are provided")
def _inconsistent(world, now):
    other = support.camara_campaign(world.sponsor, now=now)
    session_id = world.start(campaign=other)["sessionId"]
    sid, cid = support.ids(world.campaign)
    world.params = {"sponsorId": sid, "campaignId": cid, "sessionId": session_id}


@given("the API Consumer has exceeded quota or rate limiting")
def _rate_limited(world, settings):
    settings.CAMARA_STARTS_PER_MINUTE = 1
    world.start()


@given(
    parsers.parse(
        'a campaign with "sponsorId" and "campaignId" that is currently in status "{status}"'
    )
)
def _campaign_in(world, status, now):
    assert status == "paused"
    campaigns.change(sponsor=world.sponsor, campaign_id=world.campaign.campaign_id,
                     action="pause", budget_fen=None, actor="test", now=now)  # fmt: skip


@given("the request body includes valid identifiers and any action")
def _any_action(world):
    sid, cid = support.ids(world.campaign)
    world.body = {"sponsorId": sid, "campaignId": cid, "action": "resume"}


@given("the campaign is already completed")
def _completed(world, now):
    campaigns.change(sponsor=world.sponsor, campaign_id=world.campaign.campaign_id,
                     action="end", budget_fen=None, actor="test", now=now)  # fmt: skip


@given("any resource")
def _any_resource(world):
    sid, cid = support.ids(world.campaign)
    world.resource = f"/campaign/{sid}/{cid}/campaign-status"


@when(parsers.parse('the request "{operation}" is sent as {method}'))
def _send(world, operation, method):
    if world.tagged("campaignManagement_02"):  # resuming: the campaign was paused first
        _campaign_in(world, "paused", world.now)
    world.send(method)


@when("the request is sent with an unsupported HTTP verb")
def _bad_verb(world):
    world.send("PUT")


@when(parsers.parse('the request is sent and a server-side condition "{error}" occurs'))
def _server_condition(world, error, monkeypatch):
    if error in INAPPLICABLE:
        pytest.skip(INAPPLICABLE[error])
    timeout = OperationalError("canceling statement due to statement timeout")
    timeout.__cause__ = type("QueryCanceled", (Exception,), {"sqlstate": "57014"})()
    raised = {"internal": RuntimeError("boom"), "unavailable": OperationalError("down"),
              "timeout": timeout}[error]  # fmt: skip

    def broken(campaign):
        raise raised

    monkeypatch.setattr(camara, "figures", broken)
    world.send("GET")


# ---------------------------------------------------------------- answers


@then(parsers.parse("the response status code is {status:d}"))
def _status(world, status):
    assert world.response.status_code == status, world.response.content
    assert world.response["x-correlator"]


@then(parsers.parse('the response header "{name}" is "{value}"'))
def _response_header(world, name, value):
    assert world.response[name] == value


@then('the response header "x-correlator" has same value as the request header "x-correlator"')
def _echo(world):
    assert world.response["x-correlator"] == world.headers["x-correlator"]


@then(parsers.re(r"the response body contains properties (?P<names>.+)$"))
def _contains(world, names):
    for name in _names(names):
        assert name in world.response.json(), name


@then("the response body complies with the OAS schema of the operation response")
def _complies(world):
    method = world.response.request["REQUEST_METHOD"].lower()
    schema = support.response_schema(world.resource, method, world.response.status_code)
    support.check_schema(world.response.json(), schema)


@then(parsers.re(r'the response property "(?P<path>[^"]+)" is present'))
def _present(world, path):
    if "[*]" in path:
        listed, key = path.removeprefix("$.").split("[*].")
        items = world.response.json()[listed]
        assert items and all(key in item for item in items)
    else:
        _value(world, path)


@then(parsers.re(r'the response property "(?P<path>[^"]+)" is one of (?P<values>.+)$'))
def _one_of(world, path, values):
    assert _value(world, path) in _names(values)


@then(parsers.re(r'the response property "(?P<path>[^"]+)" contains "(?P<text>[^"]+)"'))
def _contains_text(world, path, text):
    assert text in _value(world, path)


@then(parsers.re(r'the response property "(?P<path>[^"]+)" is "?(?P<value>[^"]+)"?$'))
def _is(world, path, value):
    found = _value(world, path)
    assert str(found) == value, (found, value)


# ---------------------------------------------------------------- callbacks


SUBSCRIBED = (
    "a prior subscription request where the response was SUCCESS and a valid "
    "webhookUrl/callbackToken were provided"
)
CALLBACK = (
    r'the API Consumer receives a callback with header "x-callbackToken" matching the '
    r'(subscription|original) "callbackToken"'
)


@given(SUBSCRIBED)
def _subscribed(world):
    sid, cid = support.ids(world.campaign)
    world.callback_token = "alert-sink-token"
    body = {"webhookUrl": world.sink.url, "callbackToken": world.callback_token}
    answer = support.call(world.client, "POST", f"/campaign/{sid}/{cid}/alert-subscription",
                          world.token, body)  # fmt: skip
    assert "SUCCESS" in answer.json()["requestResult"]


@when("a campaign notification is sent to the webhookUrl")
def _campaign_event(world):
    if world.tagged("callback_expired"):
        world.at = world.campaign.valid_to
        campaigns.end_expired(now=world.at)
    else:  # sessions until 80% of the budget is allocated, or all of it
        kind = "THRESHOLD_80" if world.tagged("callback_threshold") else "THRESHOLD_100"
        for _ in range(100):
            if CampaignEvent.objects.filter(campaign=world.campaign, kind=kind).exists():
                break
            body = support.start_body(world.campaign, world.line().msisdn, world.sink.url,
                                      dataVolume=1000)  # fmt: skip
            support.call(world.client, "POST", "/sponsorship", world.token, body)
    camara_webhooks.pump(now=world.at)


@given('a prior "startSponsorship" request with a valid webhookUrl/callbackToken')
def _prior_start(world):
    started = world.start(dataVolume=10)
    world.session_id, world.callback_token = started["sessionId"], started["callbackToken"]


@given("a sponsorship session that reaches a final state")
def _final_state(world):
    sid, cid = support.ids(world.campaign)
    path = f"/sponsorship/{sid}/{cid}/{world.session_id}/revoke"
    assert support.call(world.client, "DELETE", path, world.token).status_code == 200


@when("the Sponsorship server sends a notification to the webhookUrl")
def _session_notification(world):
    camara_webhooks.pump(now=world.at)


@then(parsers.re(CALLBACK))
def _received(world):
    assert world.sink.received
    assert {r.headers["x-callbacktoken"] for r in world.sink.received} == {world.callback_token}
    world.notification = world.sink.received[-1].body


@then(parsers.parse('the notification body complies with schema "#/components/schemas/{name}"'))
def _notification_schema(world, name):
    for received in world.sink.received:
        support.check_schema(received.body, support.component(name))


@then(parsers.re(r'the notification property "\$\.(?P<key>\w+)" is one of (?P<values>.+)$'))
def _notification_one_of(world, key, values):
    assert world.notification[key] in _names(values)


@then(parsers.re(r'the notification property "\$\.(?P<key>\w+)" is "(?P<value>[^"]+)"$'))
def _notification_is(world, key, value):
    wanted = YAML_SPELLING.get(value, value)
    if key == "eventType":
        found = [r.body for r in world.sink.received if r.body.get(key) == wanted]
        assert found, [r.body for r in world.sink.received]
        world.notification = found[0]
    assert world.notification[key] == wanted
