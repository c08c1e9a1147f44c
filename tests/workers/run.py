#!/usr/bin/env python3
"""Runs komainu with --workers 1 and --workers 3 on the same captures and compares every
output. What may differ, and is normalised away:
  - uids and fuids (each worker numbers its own flows) and EVE flow_id of tunnelled flows
    (derived from the enclosing flow's uid);
  - line order (workers write concurrently);
  - x509.log, which Zeek also de-duplicates per worker (X509LogCache);
  - behavioural alerts' timestamps, messages and evidence: the cross-flow detectors see the
    shards' records interleaved by thread timing, so the record that crosses a threshold can
    differ (a scan alert may name port 3389 instead of 445, a mass-file-access alert may
    fire after the source touched a second server and so name no single destination).
    Which alerts fire (signature id, source, destination) must not, an alert without a
    destination standing for any destination of the same signature and source.
Everything else, stats.json's packet accounting included, must be identical.
  run.py KOMAINU SAMPLE_PCAP [SHARED_DIR]
"""
import json, os, re, subprocess, sys, tempfile

komainu, sample = sys.argv[1], sys.argv[2]
shared = sys.argv[3] if len(sys.argv) > 3 else ""
captures = [sample]
corpus = [
    "corpus/zeek/traces/http/concurrent-range-requests.pcap",
    "corpus/zeek/traces/smb/smb2readwrite.pcap",
    "corpus/zeek/traces/tunnels/Teredo.pcap",
    "corpus/zeek/traces/tunnels/gtp/gtp1_gn_normal_incl_fragmentation.pcap",
    "corpus/zeek/traces/dns/dns-binds.pcap",
    "corpus/zeek/traces/tls/google-duplicate.pcap",
    "corpus/zeek/traces/tls/imap-starttls.pcap",
    "corpus/pcap/port-scan/nmap-vsn.pcap",
    "corpus/pcap/brute-force/sshguess.pcap",
    "corpus/pcap/c2-beaconing/caldera-sandcat.pcap",
    "corpus/pcap/dns-tunneling/packets-iodine-20240910-155333.pcap",
    "corpus/pcap/smb-lateral-movement/LM_psexec_smb_dcerpc_epm_svcctl.pcapng",
    "corpus/pcap/data-exfiltration/agenttesla-c2-smtp-db9f075c.pcap",
    "corpus/suricata-verify/http-post-data-decompression/input.pcap",
    "corpus/suricata-verify/smb-filename/input.pcap",
]
if shared and os.path.isdir(os.path.join(shared, "corpus")):
    captures += [os.path.join(shared, c) for c in corpus if os.path.exists(os.path.join(shared, c))]
else:
    print("note: ../shared not present: only the bundled sample is compared")

UID = re.compile(r'(^|\t|,|")[CF][0-9A-Za-z]{3,20}(?=\t|,|"|$)')

def norm_line(line):
    line = re.sub(r'"flow_id":[0-9]+,', "", line)
    return UID.sub(r"\1U", line)

class Alerts:
    """(sid, src) -> destinations; None (no single destination) matches any destination."""
    def __init__(self, alerts):
        self.by = {}
        for sid, src, dst in alerts:
            self.by.setdefault((sid, src), set()).add(dst)
    def __eq__(self, other):
        if not isinstance(other, Alerts) or set(self.by) != set(other.by):
            return False
        for k, a in self.by.items():
            b = other.by[k]
            if not all(d in b or None in b for d in a - {None}):
                return False
            if not all(d in a or None in a for d in b - {None}):
                return False
        return True
    def __len__(self):
        return sum(len(v) for v in self.by.values())

def outputs(d):
    res = {}
    for name in sorted(os.listdir(d)):
        if name in ("stats.json", "x509.log"):
            continue
        lines, alerts = [], []
        for line in open(os.path.join(d, name), encoding="utf-8", errors="replace"):
            if line.startswith("#open") or line.startswith("#close"):
                continue
            if name == "eve.json" and '"event_type":"alert"' in line:
                e = json.loads(line)
                a = e["alert"]
                if a.get("gid") == 9000001:
                    alerts.append((a["signature_id"], e.get("src_ip"), e.get("dest_ip")))
                    continue
            lines.append(norm_line(line))
        res[name] = sorted(lines)
        if alerts:
            res[name + " (behavioural alerts)"] = Alerts(alerts)
    stats = json.load(open(os.path.join(d, "stats.json")))
    res["stats.json packets"] = {k: v for k, v in stats["packets"].items()}
    res["stats.json flow"] = stats.get("flow")
    return res

failed = 0
with tempfile.TemporaryDirectory() as tmp:
    for i, cap in enumerate(captures):
        got = []
        for n in (1, 3):
            out = os.path.join(tmp, "%d-%d" % (i, n))
            subprocess.run([komainu, "analyze", "--no-progress", "--zeek-logs", "--workers", str(n),
                            "-l", out, cap], check=True, stdout=subprocess.DEVNULL)
            got.append(outputs(out))
        one, many = got
        bad = [k for k in sorted(set(one) | set(many)) if one.get(k) != many.get(k)]
        lines = sum(len(v) for k, v in one.items() if isinstance(v, list))
        print("%-4s %s (%d lines)%s" % ("ok" if not bad else "DIFF", os.path.relpath(cap, shared or "."),
                                         lines, (": " + ", ".join(bad)) if bad else ""))
        failed += bool(bad)
sys.exit(1 if failed else 0)
