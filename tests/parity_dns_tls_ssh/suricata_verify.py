#!/usr/bin/env python3
"""Suricata-verify event checks for the DNS, TLS, SSH and QUIC analyzers.

For every test of ../shared/corpus/suricata-verify whose other_checks filter dns, tls, quic or
ssh events, runs `komainu analyze` on its pcap and evaluates each such filter on eve.json
(count of events matching every key; dotted paths with [i] indexes; has-key/not-has-key).
Keys komainu does not write in EVE yet (pcap_cnt) are skipped and reported.

usage: suricata_verify.py KOMAINU_BINARY [SHARED_DIR] [-v]
Extra `komainu analyze` arguments can be given in the KOMAINU_ARGS environment variable.

The checks kept in expected.json are Suricata 8's (the corpus helper dropped lt-version
checks), and Suricata 8 writes DNS events in its version-3 layout by default, so komainu
runs with the same choice (`app-layer.protocols.dns.eve-version: 3`; komainu's own default
is version 2). KOMAINU_DNS_EVE_VERSION=2 measures the other layout.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

EVENTS = ("dns", "tls", "ssh", "quic")
SKIPPED_KEYS = ("pcap_cnt",)


def lookup(ev, path):
    cur = ev
    for part in path.split("."):
        m = re.fullmatch(r"([^\[]*)((?:\[\d+\])*)", part)
        name, idx = m.group(1), m.group(2)
        if name:
            if not isinstance(cur, dict) or name not in cur:
                return (False, None)
            cur = cur[name]
        for i in re.findall(r"\[(\d+)\]", idx):
            i = int(i)
            if not isinstance(cur, list) or i >= len(cur):
                return (False, None)
            cur = cur[i]
    return (True, cur)


def matches(ev, match):
    for k, v in match.items():
        if k in SKIPPED_KEYS:
            continue
        if k == "has-key":
            if not lookup(ev, v)[0]:
                return False
            continue
        if k == "not-has-key":
            if lookup(ev, v)[0]:
                return False
            continue
        ok, got = lookup(ev, k)
        if not ok or got != v:
            return False
    return True


def main():
    binary = sys.argv[1]
    shared = sys.argv[2] if len(sys.argv) > 2 and not sys.argv[2].startswith("-") else \
        os.path.join(os.path.dirname(__file__), "../../../shared")
    verbose = "-v" in sys.argv
    sv = os.path.join(shared, "corpus/suricata-verify")
    passed = failed = 0
    per_type = {e: [0, 0] for e in EVENTS}
    for test in sorted(os.listdir(sv)):
        exp_path = os.path.join(sv, test, "expected.json")
        if not os.path.exists(exp_path):
            continue
        exp = json.load(open(exp_path))
        checks = [c["filter"] for c in exp.get("other_checks", [])
                  if isinstance(c, dict) and "filter" in c
                  and c["filter"].get("match", {}).get("event_type") in EVENTS]
        if not checks:
            continue
        pcap = os.path.join(sv, test, exp.get("pcap") or "input.pcap")
        if not os.path.exists(pcap):
            continue
        with tempfile.TemporaryDirectory() as out:
            extra = os.environ.get("KOMAINU_ARGS", "").split()
            config = os.path.join(out, "komainu.yaml")
            with open(config, "w") as c:
                c.write("app-layer:\n  protocols:\n    dns:\n      eve-version: %s\n" %
                        os.environ.get("KOMAINU_DNS_EVE_VERSION", "3"))
            subprocess.run([binary, "analyze", "--no-progress", "--config", config, *extra,
                            "-l", out, pcap],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            events = []
            eve = os.path.join(out, "eve.json")
            if os.path.exists(eve):
                for line in open(eve, errors="replace"):
                    try:
                        events.append(json.loads(line))
                    except ValueError:
                        pass
        for f in checks:
            et = f["match"]["event_type"]
            n = sum(1 for e in events if matches(e, f["match"]))
            want = f.get("count")
            ok = n == want if want is not None else n > 0
            per_type[et][0 if ok else 1] += 1
            if ok:
                passed += 1
            else:
                failed += 1
            if verbose or not ok:
                print(("PASS " if ok else "FAIL ") + test + ": " + json.dumps(f)[:240] +
                      " -> " + str(n))
    for et, (p, f) in per_type.items():
        print(f"{et}: {p}/{p + f} checks pass")
    print(f"total: {passed}/{passed + failed} checks pass")


if __name__ == "__main__":
    main()
