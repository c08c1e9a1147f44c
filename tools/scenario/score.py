#!/usr/bin/env python3
"""Scores komainu's alerts on a generated scenario against its truth.json: for every stage with
an expected detector, the first alert naming one of the stage's entities within the stage's
time window, and the delay from stage start to that alert (data time); then alerts raised
against benign hosts. Exit status 0 when every expected stage is detected and no benign host is
the source of an alert.

    komainu analyze --zones DIR/zones.yaml -l OUT DIR/scenario.pcap
    python3 tools/scenario/score.py --truth DIR/truth.json OUT/eve.json
"""

import argparse
import datetime
import json
import sys

ENTITY_KEYS = ("ip", "user", "host", "domain", "share")


def parse_ts(text):
    """EVE timestamps: 2024-03-04T08:01:12.123456+0000 (Suricata), also Z and +00:00."""
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+0000"
    if len(t) > 6 and t[-3] == ":" and t[-6] in "+-":
        t = t[:-3] + t[-2:]
    fmt = "%Y-%m-%dT%H:%M:%S.%f%z" if "." in t else "%Y-%m-%dT%H:%M:%S%z"
    dt = datetime.datetime.strptime(t, fmt)
    return int(dt.timestamp()) * 1_000_000 + dt.microsecond


def alert_entities(ev):
    """Entity strings an alert names: its endpoints and alert.metadata entity keys (as komainu
    writes them), case-folded."""
    out = set()
    for k in ("src_ip", "dest_ip"):
        if ev.get(k):
            out.add(str(ev[k]).lower())
    meta = (ev.get("alert") or {}).get("metadata") or {}
    for k in ENTITY_KEYS:
        vals = meta.get(k, [])
        if isinstance(vals, str):
            vals = [vals]
        out.update(str(v).lower() for v in vals)
    return out


def alert_name(ev):
    a = ev.get("alert") or {}
    meta = a.get("metadata") or {}
    det = meta.get("detector")
    det = det[0] if isinstance(det, list) and det else det
    return "%s%s [%s:%s]" % (
        det + ": " if det else "",
        a.get("signature", "?"),
        a.get("gid", "?"),
        a.get("signature_id", "?"),
    )


def names_detector(ev, expected):
    """Whether an alert looks like it comes from the expected detector family: its
    alert.metadata detector, category or signature mentions the family's first word
    (mass_file_access -> "mass_file", zones.forbidden -> "zones")."""
    family = expected.split(".")[0]
    key = "_".join(family.split("_")[:2])
    a = ev.get("alert") or {}
    meta = a.get("metadata") or {}
    det = meta.get("detector", [])
    det = det if isinstance(det, list) else [det]
    for text in list(det) + [a.get("category", ""), a.get("signature", "")]:
        norm = str(text).lower().replace(" ", "_").replace("-", "_")
        if key in norm or family in norm:
            return True
    return False


def read_alerts(paths):
    alerts = []
    for path in paths:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    ev = json.loads(line)
                except ValueError:
                    print("%s:%d: not JSON, skipped" % (path, n), file=sys.stderr)
                    continue
                if ev.get("event_type") != "alert" or "timestamp" not in ev:
                    continue
                ev["_ts"] = parse_ts(ev["timestamp"])
                ev["_entities"] = alert_entities(ev)
                alerts.append(ev)
    alerts.sort(key=lambda e: e["_ts"])
    return alerts


def stage_entities(stage):
    out = set()
    for k in ENTITY_KEYS:
        out.update(str(v).lower() for v in stage["entities"].get(k, []))
    return out


def score(truth, alerts, slack_s=300, allow_missing=()):
    rows = []
    ok = True
    for st in truth["stages"]:
        ents = stage_entities(st)
        lo, hi = st["start_us"] - 1_000_000, st["end_us"] + slack_s * 1_000_000
        hits = [a for a in alerts if lo <= a["_ts"] <= hi and a["_entities"] & ents]
        expected = st["expected_detector"]
        # Prefer the expected detector's alert: another stage's alert may name the same host.
        own = [a for a in hits if expected and names_detector(a, expected)]
        first = own[0] if own else (hits[0] if hits else None)
        detected = first is not None
        if expected and not detected and st["id"] not in allow_missing:
            ok = False
        rows.append(
            {
                "stage": st["id"],
                "name": st["name"],
                "expected": expected,
                "detected": detected,
                "alerts": len(hits),
                "first_alert": first["timestamp"] if first else None,
                "delay_s": round((first["_ts"] - st["start_us"]) / 1e6, 3) if first else None,
                "by": alert_name(first) if first else None,
                "by_expected_detector": bool(own),
            }
        )
    benign = {ip.lower() for ip in truth["benign"]["ip"]}
    false_pos = [a for a in alerts if str(a.get("src_ip", "")).lower() in benign]
    if false_pos:
        ok = False
    return ok, rows, false_pos


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--truth", required=True, help="truth.json written by generate.py")
    ap.add_argument(
        "--slack",
        type=int,
        default=300,
        help="seconds after a stage's end an alert still counts (default 300)",
    )
    ap.add_argument("--allow-missing", default="", help="comma-separated stage ids that may go undetected")
    ap.add_argument("--json", help="also write the result as JSON to this file")
    ap.add_argument("eve", nargs="+", help="EVE JSON file(s) with komainu's alerts")
    args = ap.parse_args(argv)
    with open(args.truth) as f:
        truth = json.load(f)
    alerts = read_alerts(args.eve)
    ok, rows, false_pos = score(truth, alerts, args.slack, set(filter(None, args.allow_missing.split(","))))
    print(
        "%-3s %-26s %-24s %-9s %7s %10s  %s"
        % ("id", "stage", "expected", "detected", "alerts", "delay_s", "first alert")
    )
    for r in rows:
        print(
            "%-3s %-26s %-24s %-9s %7d %10s  %s"
            % (
                r["stage"],
                r["name"],
                r["expected"] or "-",
                "yes" if r["detected"] else ("NO" if r["expected"] else "-"),
                r["alerts"],
                "%.3f" % r["delay_s"] if r["delay_s"] is not None else "-",
                (r["by"] or "")
                + ("" if r["by_expected_detector"] or not r["detected"] else "  (not the expected detector)"),
            )
        )
    print("alerts: %d; alerts from benign hosts: %d" % (len(alerts), len(false_pos)))
    for a in false_pos[:20]:
        print("  benign %s %s -> %s %s" % (a["timestamp"], a.get("src_ip"), a.get("dest_ip"), alert_name(a)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"ok": ok, "stages": rows, "benign_alerts": len(false_pos)}, f, indent=2)
            f.write("\n")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
