#!/usr/bin/env python3
"""Tests of score.py on the committed sample's truth with hand-made EVE alerts."""

import datetime
import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import score  # noqa: E402

TRUTH = os.path.join(HERE, "..", "..", "samples", "truth.json")


def eve_ts(t_us):
    dt = datetime.datetime.fromtimestamp(t_us / 1e6, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f+0000")


def alert(t_us, src, dest, sid, **meta):
    return {
        "timestamp": eve_ts(t_us),
        "event_type": "alert",
        "src_ip": src,
        "dest_ip": dest,
        "alert": {
            "gid": 9000,
            "signature_id": sid,
            "signature": "test %d" % sid,
            "metadata": {k: v for k, v in meta.items()},
        },
    }


@unittest.skipUnless(os.path.exists(TRUTH), "samples/truth.json not present")
class Score(unittest.TestCase):
    def setUp(self):
        with open(TRUTH) as f:
            self.truth = json.load(f)
        self.stages = {s["id"]: s for s in self.truth["stages"]}

    def perfect(self):
        out = []
        for s in self.truth["stages"]:
            if s["expected_detector"]:
                ips = s["entities"]["ip"]
                out.append(alert(s["start_us"] + 5_000_000, ips[0], ips[-1], len(out) + 1))
        return out

    def run_score(self, alerts, *extra):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            for a in alerts:
                f.write(json.dumps(a) + "\n")
            f.write('{"timestamp": "2024-03-04T08:00:00.000000+0000", "event_type": "flow"}\n')
        try:
            buf = io.StringIO()
            with redirect_stdout(buf):
                rc = score.main(["--truth", TRUTH, f.name, *extra])
            return rc, buf.getvalue()
        finally:
            os.unlink(f.name)

    def test_every_stage_detected_passes_with_delays(self):
        rc, out = self.run_score(self.perfect())
        self.assertEqual(rc, 0, out)
        self.assertIn("PASS", out)
        self.assertIn("5.000", out)

    def test_missing_stage_fails_unless_allowed(self):
        alerts = [a for a in self.perfect() if a["src_ip"] != self.stages["g"]["entities"]["ip"][0]]
        self.assertEqual(self.run_score(alerts)[0], 1)
        self.assertEqual(self.run_score(alerts, "--allow-missing", "g")[0], 0)

    def test_alert_outside_window_does_not_count(self):
        alerts = self.perfect()
        h = self.stages["h"]
        for a in alerts:
            if a["timestamp"] == eve_ts(h["start_us"] + 5_000_000):
                a["timestamp"] = eve_ts(h["start_us"] - 60_000_000)
        self.assertEqual(self.run_score(alerts)[0], 1)

    def test_entity_from_metadata_counts(self):
        alerts = self.perfect()
        d = self.stages["d"]
        for a in alerts:
            if a["timestamp"] == eve_ts(d["start_us"] + 5_000_000):
                a["src_ip"] = a["dest_ip"] = "192.0.2.1"
                a["alert"]["metadata"]["user"] = [d["entities"]["user"][0]]
        self.assertEqual(self.run_score(alerts)[0], 0)

    def test_expected_detector_preferred_for_delay(self):
        e = self.stages["e"]
        host = e["entities"]["ip"][0]
        alerts = [a for a in self.perfect() if a["src_ip"] != host]
        alerts.append(alert(e["start_us"] + 1_000_000, host, "192.0.2.200", 50, detector=["beaconing"]))
        alerts.append(
            alert(e["start_us"] + 3_000_000, host, e["entities"]["ip"][1], 51, detector=["exfiltration"])
        )
        f = self.stages["f"]
        alerts.append(alert(f["start_us"] + 5_000_000, host, "192.0.2.200", 52, detector=["beaconing"]))
        rc, out = self.run_score(alerts)
        self.assertEqual(rc, 0, out)
        line = next(l for l in out.splitlines() if l.startswith("e "))
        self.assertIn("3.000", line)
        self.assertIn("exfiltration", line)
        self.assertNotIn("not the expected", line)

    def test_benign_source_fails(self):
        alerts = self.perfect() + [
            alert(self.truth["start_us"] + 60_000_000, self.truth["benign"]["ip"][0], "10.30.0.5", 99)
        ]
        rc, out = self.run_score(alerts)
        self.assertEqual(rc, 1)
        self.assertIn("alerts from benign hosts: 1", out)

    def test_timestamp_forms(self):
        base = score.parse_ts("2024-03-04T08:00:00.250000+0000")
        self.assertEqual(base, 1709539200250000)
        self.assertEqual(score.parse_ts("2024-03-04T08:00:00.250000Z"), base)
        self.assertEqual(score.parse_ts("2024-03-04T08:00:00.250000+00:00"), base)
        self.assertEqual(score.parse_ts("2024-03-04T09:00:00.250000+0100"), base)


if __name__ == "__main__":
    unittest.main()
