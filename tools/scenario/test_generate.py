#!/usr/bin/env python3
"""Tests of the scenario generator: determinism, well-formed pcap (every IPv4/TCP/UDP/ICMP
checksum, TCP sequence continuity, SMB2 and DNS framing), truth.json consistent with the capture.

    python3 -m unittest tools/scenario/test_generate.py     (or tools/scenario/run_tests.sh)
"""

import hashlib
import ipaddress
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import netpkt  # noqa: E402

GENERATOR = os.path.join(HERE, "generate.py")
SAMPLES = os.path.join(HERE, "..", "..", "samples")
SEED = 7


def generate(out, seed, size="tiny", hashseed="0", extra=()):
    env = dict(os.environ, PYTHONHASHSEED=hashseed)
    subprocess.run(
        [sys.executable, GENERATOR, "--seed", str(seed), "--size", size, "--out", out, *extra],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def parse_frame(frame):
    """Returns (src, dst, proto, l4 bytes, ip header) after checking Ethernet/IPv4 framing."""
    if struct.unpack_from("!H", frame, 12)[0] != netpkt.ETH_IPV4:
        raise AssertionError("not IPv4")
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack_from("!H", ip, 2)[0]
    if ip[0] >> 4 != 4 or ihl != 20 or total != len(ip):
        raise AssertionError("bad IPv4 header lengths")
    return ip[12:16], ip[16:20], ip[9], ip[ihl:total], ip[:ihl]


def load_zones(path):
    """Reads the generator's zones.yaml (flow-style YAML, one entry per line) without a YAML
    library: zones {name: [cidr]} and policy {forbidden, allowed_services, no_internet}."""
    zones = {}
    policy = {"forbidden": [], "allowed_services": [], "no_internet": []}
    section = None
    with open(path) as f:
        for raw in f:
            line = raw.split("#", 1)[0].rstrip()
            if not line.strip():
                continue
            if not line.startswith(" "):
                section = line.rstrip(":")
                continue
            text = line.strip()
            if section == "zones":
                name, cidrs = text.split(":", 1)
                zones[name] = [c.strip() for c in cidrs.strip().strip("[]").split(",")]
            elif text.startswith("no_internet:"):
                policy["no_internet"] = [
                    z.strip() for z in text.split(":", 1)[1].strip().strip("[]").split(",")
                ]
            elif text.endswith(":"):
                key = text[:-1]
            elif text.startswith("- {"):
                body = text[3:-1]
                entry = {}
                if "services:" in body:
                    body, services = body.split("services:")
                    entry["services"] = [s.strip() for s in services.strip().strip("[]").split(",")]
                for part in body.split(","):
                    if ":" in part:
                        k, v = part.split(":")
                        entry[k.strip()] = v.strip()
                policy[key].append(entry)
    nets = [(z, ipaddress.ip_network(c)) for z, cs in zones.items() for c in cs]
    return nets, policy


def zone_of(nets, ip_bytes):
    addr = ipaddress.ip_address(bytes(ip_bytes))
    best = ("internet", -1)
    for z, n in nets:
        if addr in n and n.prefixlen > best[1]:
            best = (z, n.prefixlen)
    return best[0]


class GeneratedScenario(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="komainu-scenario-")
        cls.a = os.path.join(cls.tmp, "a")
        cls.b = os.path.join(cls.tmp, "b")
        cls.c = os.path.join(cls.tmp, "c")
        # Different PYTHONHASHSEED values: output must not depend on set/dict hashing.
        generate(cls.a, SEED, hashseed="1")
        generate(cls.b, SEED, hashseed="2")
        generate(cls.c, SEED + 1, hashseed="1")
        cls.pcap = os.path.join(cls.a, "scenario.pcap")
        cls.frames = list(netpkt.read_pcap(cls.pcap))
        with open(os.path.join(cls.a, "truth.json")) as f:
            cls.truth = json.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # -------------------------------------------------------------- determinism
    def test_same_seed_same_bytes(self):
        for name in ("scenario.pcap", "truth.json", "zones.yaml"):
            self.assertEqual(digest(os.path.join(self.a, name)), digest(os.path.join(self.b, name)), name)

    def test_different_seed_different_capture(self):
        self.assertNotEqual(
            digest(os.path.join(self.a, "scenario.pcap")), digest(os.path.join(self.c, "scenario.pcap"))
        )

    def test_committed_sample_is_reproducible(self):
        if not os.path.isdir(SAMPLES):
            self.skipTest("samples/ not beside tools/ (installed copy?)")
        out = os.path.join(self.tmp, "sample")
        generate(out, 1, "tiny", extra=("--pcap-name", "sample.pcap"))
        for name in ("sample.pcap", "truth.json", "zones.yaml"):
            self.assertEqual(
                digest(os.path.join(out, name)),
                digest(os.path.join(SAMPLES, name)),
                "samples/%s is stale: regenerate it with the command in samples/README.md" % name,
            )
        # Small enough to commit (version 2 added the mail stage: 296 KB -> 311 KB).
        self.assertLess(os.path.getsize(os.path.join(SAMPLES, "sample.pcap")), 320_000)

    # -------------------------------------------------------------- pcap structure
    def test_pcap_header_and_time_order(self):
        with open(self.pcap, "rb") as f:
            magic, vmaj, vmin, _, _, snaplen, link = struct.unpack("<IHHiIII", f.read(24))
        self.assertEqual((magic, vmaj, vmin, link), (0xA1B2C3D4, 2, 4, 1))
        times = [t for t, _ in self.frames]
        self.assertEqual(times, sorted(times))
        self.assertEqual(len(self.frames), self.truth["packets"])
        self.assertLess(os.path.getsize(self.pcap), 400_000)

    def test_every_checksum(self):
        counts = {"tcp": 0, "udp": 0, "icmp": 0}
        for _, frame in self.frames:
            src, dst, proto, l4, iphdr = parse_frame(frame)
            self.assertEqual(netpkt.checksum(iphdr), 0, "IPv4 header checksum")
            if proto == netpkt.PROTO_TCP:
                pseudo = src + dst + struct.pack("!BBH", 0, 6, len(l4))
                self.assertEqual(netpkt.checksum(pseudo + l4), 0, "TCP checksum")
                counts["tcp"] += 1
            elif proto == netpkt.PROTO_UDP:
                self.assertEqual(struct.unpack_from("!H", l4, 4)[0], len(l4))
                pseudo = src + dst + struct.pack("!BBH", 0, 17, len(l4))
                self.assertEqual(netpkt.checksum(pseudo + l4), 0, "UDP checksum")
                counts["udp"] += 1
            elif proto == netpkt.PROTO_ICMP:
                self.assertEqual(netpkt.checksum(l4), 0, "ICMP checksum")
                counts["icmp"] += 1
            else:
                self.fail("unexpected protocol %d" % proto)
        self.assertTrue(all(counts.values()), counts)

    def test_checksum_detects_corruption(self):
        _, frame = next(f for f in self.frames if f[1][23] == netpkt.PROTO_TCP and len(f[1]) > 80)
        src, dst, _, l4, _ = parse_frame(frame)
        bad = bytearray(l4)
        bad[-1] ^= 0x01
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(bad))
        self.assertNotEqual(netpkt.checksum(pseudo + bytes(bad)), 0)

    def tcp_streams(self):
        """Per direction of each TCP connection: list of (seq, flags, payload) in capture order."""
        streams = {}
        for _, frame in self.frames:
            src, dst, proto, l4, _ = parse_frame(frame)
            if proto != netpkt.PROTO_TCP:
                continue
            sport, dport, seq, ack, off, flags = struct.unpack_from("!HHIIBB", l4)
            key = (src, sport, dst, dport)
            streams.setdefault(key, []).append((seq, flags, l4[(off >> 4) * 4 :]))
        return streams

    def test_tcp_sequence_continuity(self):
        flows = 0
        for key, segs in self.tcp_streams().items():
            expected = None
            for seq, flags, payload in segs:
                if flags & netpkt.SYN:
                    expected = seq  # retransmitted SYNs reuse the ISN
                elif flags & netpkt.RST and not payload:
                    continue
                self.assertIsNotNone(expected, "segment before SYN in %r" % (key,))
                self.assertEqual(seq, expected, "sequence gap in %r" % (key,))
                expected = (seq + len(payload) + (1 if flags & (netpkt.SYN | netpkt.FIN) else 0)) & 0xFFFFFFFF
                self.assertLessEqual(len(payload), 1460)
            flows += 1
        self.assertGreater(flows, 100)

    def test_smb2_messages_and_collected_files(self):
        attacker = bytes([10, 8, 3, 17])
        creates = set()
        commands = {}
        written = 0
        for (src, sport, dst, dport), segs in self.tcp_streams().items():
            if dport != 445 and sport != 445:
                continue
            data = b"".join(p for _, _, p in segs)
            off = 0
            while off < len(data):
                self.assertEqual(data[off], 0, "NetBIOS session message type")
                length = struct.unpack_from("!I", data, off)[0] & 0xFFFFFF
                msg = data[off + 4 : off + 4 + length]
                self.assertEqual(len(msg), length, "truncated SMB2 message")
                self.assertEqual(msg[:4], b"\xfeSMB")
                self.assertEqual(struct.unpack_from("<H", msg, 4)[0], 64)
                cmd = struct.unpack_from("<H", msg, 12)[0]
                response = struct.unpack_from("<I", msg, 16)[0] & 1
                commands[cmd] = commands.get(cmd, 0) + 1
                if cmd == 5 and not response and src == attacker:
                    name_off, name_len = struct.unpack_from("<HH", msg, 64 + 44)
                    disposition, options = struct.unpack_from("<II", msg, 64 + 36)
                    if not options & 0x1 and disposition == 1:  # opening an existing file
                        creates.add(msg[name_off : name_off + name_len].decode("utf-16-le"))
                if cmd == 9 and not response and src == attacker:
                    data_off, data_len = struct.unpack_from("<HI", msg, 64 + 2)
                    self.assertEqual(len(msg) - data_off, data_len)
                    written += data_len
                off += 4 + length
        stages = {s["id"]: s for s in self.truth["stages"]}
        self.assertEqual(len(creates), stages["d"]["evidence"]["files"])
        self.assertEqual(written, stages["d2"]["evidence"]["bytes"])
        for cmd in (0, 1, 3, 5, 6, 8, 9, 14):
            self.assertIn(cmd, commands)

    def test_ntlm_user_in_session_setup(self):
        needle = "jdoe".encode("utf-16-le")
        found = any(b"NTLMSSP\x00\x03\x00\x00\x00" in frame and needle in frame for _, frame in self.frames)
        self.assertTrue(found, "NTLMSSP AUTHENTICATE for jdoe")

    def test_dns_messages_parse(self):
        tunnel = 0
        for _, frame in self.frames:
            _, _, proto, l4, _ = parse_frame(frame)
            if proto != netpkt.PROTO_UDP or 53 not in struct.unpack_from("!HH", l4):
                continue
            msg = l4[8:]
            qd, an = struct.unpack_from("!HH", msg, 4)
            self.assertEqual(qd, 1)
            off = 12
            labels = []
            while msg[off]:
                labels.append(msg[off + 1 : off + 1 + msg[off]].decode("ascii"))
                self.assertLessEqual(msg[off], 63)
                off += 1 + msg[off]
            off += 5
            for _ in range(an):  # every answer owner is a compression pointer
                self.assertEqual(msg[off] & 0xC0, 0xC0)
                rdlen = struct.unpack_from("!H", msg, off + 10)[0]
                off += 12 + rdlen
            self.assertLessEqual(off, len(msg))
            if ".".join(labels).endswith("dataflux-cdn.example"):
                tunnel += 1
        self.assertGreaterEqual(
            tunnel, 4 * next(s for s in self.truth["stages"] if s["id"] == "g")["evidence"]["queries"]
        )

    def test_tls_client_hello_carries_sni(self):
        sni = b"api.cloudsync-metrics.example"
        hellos = [f for _, f in self.frames if b"\x16\x03\x01" in f and sni in f]
        beacon = next(s for s in self.truth["stages"] if s["id"] == "f")
        self.assertEqual(len(hellos), beacon["evidence"]["connections"])

    def test_tls_streams_are_whole_records(self):
        shell = (bytes([198, 51, 100, 10]), bytes([192, 0, 2, 77]))  # the appliance's plaintext reverse shell
        checked = 0
        for (src, sport, dst, dport), segs in self.tcp_streams().items():
            if 443 not in (sport, dport) and 636 not in (sport, dport):
                continue
            if {src, dst} == set(shell):
                continue
            data = b"".join(p for _, _, p in segs)
            off = 0
            encrypted = False  # handshake records after ChangeCipherSpec are encrypted
            while off < len(data):
                ctype, version, length = struct.unpack_from("!BHH", data, off)
                self.assertIn(ctype, (20, 21, 22, 23))
                self.assertIn(version, (0x0301, 0x0303))
                self.assertLessEqual(length, 16384 + 256)
                body = data[off + 5 : off + 5 + length]
                self.assertEqual(len(body), length, "truncated TLS record")
                if ctype == 20:
                    encrypted = True
                elif ctype == 22 and not encrypted:
                    pos = 0
                    while pos < len(body):
                        self.assertIn(body[pos], (1, 2, 11, 12, 14, 16), "handshake type")
                        pos += 4 + int.from_bytes(body[pos + 1 : pos + 4], "big")
                    self.assertEqual(pos, len(body), "handshake messages fill the record")
                off += 5 + length
            checked += 1
        self.assertGreater(checked, 20)

    @unittest.skipUnless(shutil.which("tcpdump"), "tcpdump not installed")
    def test_tcpdump_reads_every_packet(self):
        out = subprocess.run(["tcpdump", "-nr", self.pcap], capture_output=True, text=True, check=True)
        self.assertEqual(len(out.stdout.splitlines()), len(self.frames))

    # -------------------------------------------------------------- truth.json
    def test_truth_stages_inside_capture(self):
        t = self.truth
        self.assertEqual([s["id"] for s in t["stages"]], ["a", "b", "a2", "c", "d", "d2", "e", "f", "g", "h", "i"])
        first, last = self.frames[0][0], self.frames[-1][0]
        self.assertEqual((t["first_packet_us"], t["last_packet_us"]), (first, last))
        self.assertLessEqual(t["start_us"], first)
        self.assertGreaterEqual(t["end_us"], last)
        for s in t["stages"]:
            self.assertLessEqual(first, s["start_us"], s["id"])
            self.assertLessEqual(s["start_us"], s["end_us"], s["id"])
            self.assertLessEqual(s["end_us"], last, s["id"])
            self.assertTrue(s["entities"]["ip"], s["id"])
            self.assertGreater(s["packets"], 0)
        by_id = {s["id"]: s for s in t["stages"]}
        for earlier, later in (
            ("a", "b"),
            ("b", "c"),
            ("c", "d"),
            ("d", "d2"),
            ("d2", "e"),
            ("e", "g"),
            ("g", "h"),
        ):
            self.assertLess(by_id[earlier]["start_us"], by_id[later]["start_us"], (earlier, later))
        self.assertLess(by_id["f"]["start_us"] - first, 60 * 1_000_000)

    def test_benign_and_attack_entities_disjoint(self):
        benign = set(self.truth["benign"]["ip"])
        self.assertGreater(len(benign), 10)
        self.assertFalse(benign & set(self.truth["attack_initiators"]["ip"]))
        for s in self.truth["stages"]:
            self.assertFalse(benign & set(s["entities"]["ip"]), s["id"])

    def test_only_attack_traffic_breaks_the_policy(self):
        zones, policy = load_zones(os.path.join(self.a, "zones.yaml"))
        forbidden = {(r["from"], r["to"]) for r in policy["forbidden"]}
        allowed = {(r["from"], r["to"]): set(r["services"]) for r in policy["allowed_services"]}
        no_internet = set(policy["no_internet"])
        violators = set()
        for _, frame in self.frames:
            src, dst, proto, l4, _ = parse_frame(frame)
            if proto == netpkt.PROTO_TCP:
                if l4[13] & (netpkt.SYN | netpkt.ACK) != netpkt.SYN:
                    continue
                service = "tcp/%d" % struct.unpack_from("!H", l4, 2)[0]
            elif proto == netpkt.PROTO_UDP:
                sport, dport = struct.unpack_from("!HH", l4)
                is_query = (dport == 53 and sport != 53) or (
                    dport == 123 and l4[8] & 0x07 == 3
                )  # NTP client mode
                if not is_query:
                    continue
                service = "udp/%d" % dport
            else:
                continue
            zs, zd = zone_of(zones, src), zone_of(zones, dst)
            bad = (zs, zd) in forbidden or ((zs, zd) in allowed and service not in allowed[(zs, zd)])
            bad = bad or (zs in no_internet and zd == "internet") or (zd in no_internet and zs == "internet")
            if bad:
                violators.add(".".join(map(str, src)))
        by_id = {s["id"]: s for s in self.truth["stages"]}
        # Appliance (public and inside address) reaching out, scan and SMB from the pool, the
        # business host's SYN.
        b, c, h = (by_id[k]["entities"]["ip"] for k in "bch")
        expected = {b[0], b[2], c[0], h[0]}
        self.assertEqual(violators, expected)

    def test_zones_file_is_plain_yaml(self):
        try:
            import yaml
        except ImportError:
            self.skipTest("PyYAML not installed")
        with open(os.path.join(self.a, "zones.yaml")) as f:
            doc = yaml.safe_load(f)
        nets, policy = load_zones(os.path.join(self.a, "zones.yaml"))
        self.assertEqual(sorted(doc["zones"]), sorted({z for z, _ in nets}))
        self.assertEqual(doc["policy"], policy)

    def test_zones_file(self):
        with open(os.path.join(self.a, "zones.yaml")) as f:
            text = f.read()
        for zone in ("dmz", "vpn_pool", "research", "business", "launch_ops"):
            self.assertIn("  %s: [" % zone, text)
        self.assertIn("    - {from: business, to: launch_ops}", text)
        self.assertIn("  no_internet: [launch_ops]", text)


if __name__ == "__main__":
    unittest.main()
