"""Sum up schemathesis NDJSON reports (``scripts/fuzz.sh``): per identity, the requests made,
the server errors (5xx), the response-schema violations, the status-code and content-type
conformance failures (and those of any other check, as "other"); then the distinct failures,
grouped by cause, one example request each.

    python scripts/fuzz_summary.py consumer=var/fuzz/x/consumer agent=... staff=...

Exits 1 if any identity has a failure (or made no request), else 0.
"""

from __future__ import annotations

import base64
import json
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

CHECKS = {
    "not_a_server_error": "5xx",
    "response_schema_conformance": "schema",
    "status_code_conformance": "status",
    "content_type_conformance": "content_type",
}


def _body(content: dict | None) -> str:
    if not content:
        return ""
    if "$base64" in content:
        return base64.b64decode(content["$base64"]).decode("utf-8", "replace")
    return str(content.get("string", ""))


def _error_code(body: str) -> str:
    try:
        return str(json.loads(body)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return ""


def _example(interaction: dict) -> str:
    request = interaction["request"]
    url = urlsplit(request["uri"])
    line = f"{request['method']} {url.path}{'?' + url.query if url.query else ''}"
    body = request.get("body")
    if body:
        line += " body=" + _body(body)[:300]
    return line[:400]


def summarise(directory: Path) -> tuple[Counter, dict]:
    counts: Counter = Counter()
    causes: dict = {}
    for path in sorted(directory.glob("*.ndjson")):
        for raw in path.read_text().splitlines():
            event = json.loads(raw)
            finished = event.get("ScenarioFinished")
            if not finished:
                continue
            recorder = finished["recorder"]
            interactions = recorder.get("interactions", {})
            for interaction in interactions.values():
                counts["requests"] += 1
                response = interaction.get("response") or {}
                if response.get("status_code", 0) >= 500:
                    counts["5xx"] += 1
            for case_id, checks in recorder.get("checks", {}).items():
                for check in checks:
                    if check["status"] != "failure":
                        continue
                    kind = CHECKS.get(check["name"], check["name"])  # FUZZ_CHECKS may add some
                    failure = check["failure_info"]["failure"]
                    interaction = interactions.get(case_id) or {}
                    response = interaction.get("response") or {}
                    status = response.get("status_code", 0)
                    if kind == "status" and status >= 500:
                        continue  # a server error, counted as such (never to be documented)
                    if kind != "5xx":  # 5xx are counted from the responses above
                        counts[kind] += 1
                    code = _error_code(_body(response.get("content")))
                    key = (kind, failure["operation"], status, code, failure["title"])
                    if key not in causes:
                        message = failure.get("message", "").strip().splitlines()
                        causes[key] = {
                            "count": 0,
                            "message": message[0] if message else "",
                            "example": _example(interaction) if interaction else "",
                        }
                    causes[key]["count"] += 1
    return counts, causes


def main(argv: list[str]) -> int:
    failed = False
    print(
        f"{'identity':<10} {'requests':>8} {'5xx':>5} {'schema':>7} {'status':>7} {'ctype':>6}"
        f" {'other':>6}"
    )
    all_causes = {}
    for arg in argv:
        name, _, directory = arg.partition("=")
        counts, causes = summarise(Path(directory))
        other = sum(n for kind, n in counts.items() if kind not in {"requests", *CHECKS.values()})
        print(
            f"{name:<10} {counts['requests']:>8} {counts['5xx']:>5} {counts['schema']:>7} "
            f"{counts['status']:>7} {counts['content_type']:>6} {other:>6}"
        )
        if not counts["requests"] or sum(n for kind, n in counts.items() if kind != "requests"):
            failed = True
        for key, value in causes.items():
            all_causes.setdefault(key, {**value, "identities": []})["identities"].append(name)
    if all_causes:
        print("\nFailures by cause (check, operation, status, error code):")
        for (kind, operation, status, code, title), value in sorted(all_causes.items()):
            who = ",".join(value["identities"])
            print(f"- [{kind}] {operation} -> {status} {code} ({title}; {value['count']}x; {who})")
            if value["message"]:
                print(f"    {value['message'][:200]}")
            print(f"    e.g. {value['example']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
