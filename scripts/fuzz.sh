#!/usr/bin/env bash
# Fuzz the REST API with schemathesis against a running haoka, as a consumer, an agent and staff,
# and online charging (Nchf) as a network function, against 3GPP's own TS 32.291 definition.
#
#   scripts/fuzz.sh                                   # a throwaway SQLite file under var/fuzz/
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/haoka_fuzz scripts/fuzz.sh   # a throwaway PG DB
#
# It migrates and seeds the database (`haoka demo --setup-only`), starts the payment, carrier and
# courier simulators and `haoka serve` on free ports, signs in the demo consumer and the demo
# agent through the API (OTP from the sandbox SMS outbox), creates a staff token with
# `haoka tokens create`, then runs `st run` once per identity with the checks below, bounded by
# FUZZ_MAX_EXAMPLES test cases per operation and phase (default 20; about 2 minutes per
# identity; FUZZ_CHECKS replaces the list of checks). It prints, per identity, the requests made,
# server errors (5xx), response-schema violations, status-code and content-type conformance
# failures, then the failures grouped by cause with one example request each, stops everything
# it started, and exits non-zero if any.
# FUZZ_WHO picks identities (default "consumer agent staff nchf"), FUZZ_PHASES schemathesis's phases.
# Reports (NDJSON, JUnit) and the server's log stay in the run's directory under var/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${BIN:-$ROOT/.venv/bin}
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-20}
SEED=${FUZZ_SEED:-20261207}
NUMBERS=${FUZZ_NUMBERS:-200}
PHASES=(${FUZZ_PHASES:+--phases "$FUZZ_PHASES"})
CHECKS=${FUZZ_CHECKS:-not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance}
RUN=$ROOT/var/fuzz/run-$(date -u +%Y%m%dT%H%M%S)-$$
mkdir -p "$RUN"

free_port() {
  "$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PORT=${FUZZ_PORT:-$(free_port)}
PAY_PORT=$(free_port)
CARRIER_PORT=$(free_port)
COURIER_PORT=$(free_port)
BASE=http://127.0.0.1:$PORT

# Throwaway secrets and a sandbox (sandbox SMS outbox, simulators), never the developer's .env.
"$BIN/python" scripts/make_env.py >"$RUN/env"
set -a
# shellcheck disable=SC1091
. "$RUN/env"
set +a
export PYTHONPATH=$ROOT/src HAOKA_HOME=$ROOT HAOKA_SANDBOX=1 HAOKA_PORT=$PORT HAOKA_LOG_LEVEL=WARNING
export DATABASE_URL=${DATABASE_URL:-sqlite:///$RUN/fuzz.sqlite3}
export HAOKA_PAYMENT_GATEWAY_URL=http://127.0.0.1:$PAY_PORT
export HAOKA_CARRIER_API_URL=http://127.0.0.1:$CARRIER_PORT
export HAOKA_COURIER_API_URL=http://127.0.0.1:$COURIER_PORT
unset HAOKA_TESTING

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
start() {  # start NAME ARGS...: a haoka process in the background, its output in $RUN/NAME.log
  local name=$1
  shift
  "$BIN/haoka" "$@" >"$RUN/$name.log" 2>&1 &
  PIDS+=($!)
}

echo "== database ${DATABASE_URL%%\?*} (run directory $RUN)"
"$BIN/haoka" demo --setup-only --numbers "$NUMBERS" >"$RUN/seed.log" 2>&1
start payment-sim simulate payment --port "$PAY_PORT" --time-scale 3600
start carrier-sim simulate carrier --port "$CARRIER_PORT" --time-scale 3600
start courier-sim simulate courier --port "$COURIER_PORT" --time-scale 3600 \
  --callback-url "$BASE/api/v1/callbacks/couriers/simexpress"
start web serve --port "$PORT" --workers 2 --threads 4
start worker worker
for _ in $(seq 60); do
  curl -fsS -o "$RUN/openapi.json" "$BASE/api/v1/openapi.json" 2>/dev/null && break
  sleep 1
done
test -s "$RUN/openapi.json" || { echo "haoka did not start (see $RUN/web.log)" >&2; exit 2; }

session_token() {  # session_token PHONE: sign in through the API with the sandbox SMS code
  "$BIN/python" - "$BASE" "$1" <<'PY'
import re
import sys

import httpx

base, phone = sys.argv[1], sys.argv[2]
httpx.post(f"{base}/api/v1/auth/otp", json={"phone": phone}).raise_for_status()
outbox = httpx.get(f"{base}/api/v1/sandbox/sms", params={"phone": phone}).raise_for_status()
code = re.search(r"\d{6}", outbox.json()[0]["text"]).group(0)
login = httpx.post(f"{base}/api/v1/auth/login", json={"phone": phone, "code": code})
print(login.raise_for_status().json()["token"])
PY
}
declare -A TOKENS
TOKENS[consumer]=$(session_token 13800138000)  # demo.DEMO_CONSUMER: two lines
TOKENS[agent]=$(session_token 13700137000)     # demo.DEMO_AGENT: a level-1 agent with a shop
TOKENS[staff]=$("$BIN/haoka" tokens create --name "fuzz-staff-$$" --scope staff --user admin 2>/dev/null)

# Real values (demo lines, plans, shop and course codes, months with a bill ...) that the
# generator uses for half the parameters of those names, so that tests reach past "not found".
"$BIN/python" - "$BASE" "${TOKENS[consumer]}" "${TOKENS[agent]}" "${TOKENS[staff]}" \
  >"$RUN/schemathesis.toml" <<'PY'
import datetime as dt
import json
import sys

import httpx

base, consumer, agent, staff = sys.argv[1:5]
values: dict[str, set] = {}


def get(path, token=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        reply = httpx.get(f"{base}/api/v1{path}", params=params, headers=headers, timeout=30)
        return reply.json() if reply.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return {}


def items(data):
    return data.get("items", []) if isinstance(data, dict) else data


def add(name, *found):
    values.setdefault(name, set()).update(v for v in found if v not in (None, ""))


add("carrier", *(c.get("code") for c in items(get("/carriers"))))
plans = [p.get("code") for p in items(get("/plans", limit=100))]
add("plan_code", *plans)
add("code", *plans)
add("msisdn", *(n.get("msisdn") for n in items(get("/numbers", limit=5))))
for line in items(get("/lines", consumer)):
    add("msisdn", line.get("msisdn"))
    add("month", *(b.get("month") for b in items(get(f"/lines/{line.get('msisdn')}/bills", consumer))))
add("code", get("/agents/me", agent).get("code"))
add("code", *(c.get("code") for c in items(get("/agents/me/courses", agent))))
add("agent_id", *(a.get("id") for a in items(get("/staff/agents", staff, limit=20))))
add("ref", *(w.get("ref") for w in items(get("/staff/withdrawals", staff, limit=20))))
now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))  # Beijing: bills are by its months
add("month", f"{now:%Y-%m}", f"{now.replace(day=1) - dt.timedelta(days=1):%Y-%m}")
add("gateway", "sandbox")
add("courier", "simexpress")
for name in ("carrier", "plan_code", "msisdn"):
    if name in values:
        values[f"body.{name}"] = values[name]
print("# Written by scripts/fuzz.sh: real values for half the parameters of these names.")
values = {name: found for name, found in values.items() if found}
for name, found in sorted(values.items()):
    print(f"[dictionaries.{name.replace('.', '_')}]\nvalues = {json.dumps(sorted(found, key=str))}")
print("[parameters]")
for name in sorted(values):
    print(f'"{name}" = {{ dictionary = "{name.replace(".", "_")}", probability = 0.5 }}')
PY

# Online charging as a network function: the published 3GPP definition (TS 32.291), not ours,
# with the demo lines' IMSIs for half the subscriber identifiers.
TOKENS[nchf]=$("$BIN/haoka" tokens create --name "fuzz-smf-$$" --scope charging 2>/dev/null)
cat >"$RUN/nchf.toml" <<'TOML'
[dictionaries.subscriber]
values = ["imsi-460002026112201", "imsi-460012026112202", "msisdn-8613912345678"]
[parameters]
"body.subscriberIdentifier" = { dictionary = "subscriber", probability = 0.5 }
TOML
SPECS=${HAOKA_SPECS:-$ROOT/../shared/specs}
[ -d "$SPECS/3gpp-rel17" ] || SPECS=/work/shared/specs
SPEC=$SPECS/3gpp-rel17/TS32291_Nchf_ConvergedCharging.yaml

SUMMARY_ARGS=()
for who in ${FUZZ_WHO:-consumer agent staff nchf}; do
  echo "== st run as $who (max $MAX_EXAMPLES examples per operation)"
  if [ "$who" = nchf ]; then
    # The coverage phase spends over ten minutes on TS 32.291's request schema: examples and
    # fuzzing only, unless FUZZ_PHASES says otherwise.
    config=$RUN/nchf.toml schema=$SPEC url=(--url "$BASE/nchf-convergedcharging/v3")
    [ ${#PHASES[@]} -gt 0 ] && phases=("${PHASES[@]}") || phases=(--phases examples,fuzzing)
  else
    config=$RUN/schemathesis.toml schema=$BASE/api/v1/openapi.json url=() phases=("${PHASES[@]}")
  fi
  "$BIN/st" --config-file "$config" run "$schema" "${url[@]}" \
    --checks "$CHECKS" "${phases[@]}" \
    -H "Authorization: Bearer ${TOKENS[$who]}" \
    --max-examples "$MAX_EXAMPLES" --seed "$SEED" --workers 2 \
    --request-timeout 30 --no-color \
    --report ndjson,junit --report-dir "$RUN/$who" >"$RUN/$who.out" 2>&1 || true
  SUMMARY_ARGS+=("$who=$RUN/$who")
done

echo
echo "== results (database ${DATABASE_URL%%://*}; details in $RUN)"
"$BIN/python" scripts/fuzz_summary.py "${SUMMARY_ARGS[@]}"
