#!/usr/bin/env python3
"""Deterministic generator of Entra ID sign-in and M365 audit logs with planted incidents.

See README.md. Python 3 standard library only; the same seed gives identical output.
"""
import argparse
import json
import os
import random
import uuid
from datetime import datetime, timedelta, timezone

TENANT = "5f1c2a8e-4b7d-4c1e-9a3f-2d6b8e0c7a11"
DOMAIN = "contoso-bank.com"
EPOCH = datetime(2025, 3, 3, tzinfo=timezone.utc)

CITIES = [
    # city, state, country, lat, lon, ip prefix, asn
    ("Paris", "Ile-de-France", "FR", 48.8566, 2.3522, "90.84.", 3215),
    ("Berlin", "Berlin", "DE", 52.52, 13.405, "93.184.", 3320),
    ("London", "England", "GB", 51.5074, -0.1278, "81.2.", 2856),
    ("New York", "NY", "US", 40.7128, -74.006, "24.44.", 7018),
    ("Madrid", "Madrid", "ES", 40.4168, -3.7038, "83.44.", 3352),
    ("Amsterdam", "North Holland", "NL", 52.3676, 4.9041, "145.53.", 1136),
]
SYDNEY = ("Sydney", "New South Wales", "AU", -33.8688, 151.2093, "1.120.", 1221)
LAGOS = ("Lagos", "Lagos", "NG", 6.5244, 3.3792, "102.89.", 29465)
ATTACKER_IP = "185.220.101.7"

APPS = [
    ("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000", "Microsoft Outlook"),
    ("Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams"),
    ("Office365 Shell WCSS-Client", "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7", "Office 365 SharePoint Online"),
]
DEVICES = [
    ("Windows 10", "Edge 120.0.2210", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91"),
    ("MacOs", "Safari 17.2", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15"),
    ("Windows 11", "Chrome 121.0.0", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36"),
]
FIRST = ["amelie", "jonas", "maria", "liam", "sofia", "noah", "emma", "lucas", "mia", "leon",
         "julia", "david", "sara", "paul", "anna", "felix", "lena", "marco", "nina", "tom"]
LAST = ["laurent", "weber", "garcia", "smith", "rossi", "muller", "jansen", "dubois", "novak",
        "silva", "berg", "costa", "fischer", "moreau", "klein", "ward", "meyer", "lopez"]


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%07dZ" % (t.microsecond * 10)


class Gen:
    def __init__(self, seed, users):
        self.r = random.Random(seed)
        self.users = []
        names = set()
        # Fixed actors of the planted scenarios come first.
        fixed = [("amelie.laurent", 0), ("jonas.weber", 1), ("ceo", 3), ("cfo", 2)]
        for name, city in fixed:
            self.users.append(self._user(name, CITIES[city]))
            names.add(name)
        while len(self.users) < users:
            n = "%s.%s" % (self.r.choice(FIRST), self.r.choice(LAST))
            if n in names:
                n = "%s%d" % (n, len(self.users))
            names.add(n)
            self.users.append(self._user(n, self.r.choice(CITIES)))

    def uuid(self):
        return str(uuid.UUID(int=self.r.getrandbits(128), version=4))

    def _user(self, name, city):
        dev = self.r.choice(DEVICES)
        return {
            "upn": "%s@%s" % (name, DOMAIN),
            "display": name.replace(".", " ").title(),
            "id": str(uuid.UUID(int=self.r.getrandbits(128), version=4)),
            "city": city,
            "ip": "%s%d.%d" % (city[5], self.r.randint(1, 254), self.r.randint(1, 254)),
            "device": dev,
            "device_id": str(uuid.UUID(int=self.r.getrandbits(128), version=4)),
            "app": self.r.choice(APPS),
        }

    def signin(self, t, user, ok=True, code=0, city=None, ip=None, device=None, mfa=True,
               risk="none", app=None):
        city = city or user["city"]
        ip = ip or user["ip"]
        os_, browser, ua = device or user["device"]
        app = app or user["app"]
        status = {"errorCode": code}
        if not ok:
            status["failureReason"] = "Error validating credentials due to invalid username or password."
        corr = self.uuid()
        props = {
            "id": self.uuid(),
            "createdDateTime": iso(t),
            "userDisplayName": user["display"],
            "userPrincipalName": user["upn"],
            "userId": user["id"],
            "appId": app[1],
            "appDisplayName": app[0],
            "ipAddress": ip,
            "clientAppUsed": "Browser",
            "correlationId": corr,
            "conditionalAccessStatus": "success" if ok else "notApplied",
            "isInteractive": True,
            "riskDetail": "none",
            "riskLevelAggregated": risk,
            "riskLevelDuringSignIn": risk,
            "riskState": "none" if risk == "none" else "atRisk",
            "riskEventTypes_v2": [],
            "resourceDisplayName": app[2],
            "resourceId": app[1],
            "status": status,
            "deviceDetail": {"deviceId": user["device_id"] if device is None else "",
                             "displayName": "", "operatingSystem": os_, "browser": browser,
                             "isCompliant": device is None, "isManaged": device is None,
                             "trustType": "Azure AD joined" if device is None else ""},
            "location": {"city": city[0], "state": city[1], "countryOrRegion": city[2],
                         "geoCoordinates": {"latitude": city[3], "longitude": city[4]}},
            "authenticationRequirement": "multiFactorAuthentication" if mfa else "singleFactorAuthentication",
            "authenticationDetails": [
                {"authenticationStepDateTime": iso(t), "authenticationMethod": "Password",
                 "succeeded": ok, "authenticationStepResultDetail": "Correct password" if ok else "Invalid username or password or Invalid on-premise username or password."}]
            + ([{"authenticationStepDateTime": iso(t), "authenticationMethod": "Mobile app notification",
                 "succeeded": True, "authenticationStepResultDetail": "MFA successfully completed"}] if ok and mfa else []),
            "userAgent": ua,
            "autonomousSystemNumber": city[6],
            "tokenIssuerType": "AzureAD",
            "appliedConditionalAccessPolicies": [
                {"id": "de7e60eb-ed89-4d73-8205-2227def6b7c9", "displayName": "Require MFA for all users",
                 "enforcedGrantControls": ["Mfa"], "enforcedSessionControls": [], "result": "success" if ok else "notApplied"}],
        }
        rec = {
            "time": iso(t),
            "resourceId": "/tenants/%s/providers/Microsoft.aadiam" % TENANT,
            "operationName": "Sign-in activity",
            "operationVersion": "1.0",
            "category": "SignInLogs",
            "tenantId": TENANT,
            "resultType": str(code),
            "resultSignature": "None",
            "resultDescription": "" if ok else "Invalid username or password or Invalid on-premise username or password.",
            "durationMs": 0,
            "callerIpAddress": ip,
            "correlationId": corr,
            "identity": user["display"],
            "Level": 4,
            "location": city[2],
            "properties": props,
        }
        return t, json.dumps(rec, separators=(",", ":"))

    def file_op(self, t, user, op, name):
        rec = {
            "CreationTime": t.strftime("%Y-%m-%dT%H:%M:%S"),
            "Id": self.uuid(),
            "Operation": op,
            "OrganizationId": TENANT,
            "RecordType": 6,
            "UserKey": "i:0h.f|membership|%s" % user["id"],
            "UserType": 0,
            "Version": 1,
            "Workload": "SharePoint",
            "ClientIP": user["ip"],
            "ObjectId": "https://contosobank.sharepoint.com/sites/finance/Shared Documents/%s" % name,
            "UserId": user["upn"],
            "EventSource": "SharePoint",
            "ItemType": "File",
            "ListItemUniqueId": self.uuid(),
            "Site": self.uuid(),
            "UserAgent": user["device"][2],
            "WebId": self.uuid(),
            "SourceFileExtension": name.rsplit(".", 1)[-1],
            "SiteUrl": "https://contosobank.sharepoint.com/sites/finance/",
            "SourceFileName": name,
            "SourceRelativeUrl": "Shared Documents",
        }
        return t, json.dumps(rec, separators=(",", ":"))

    def benign_day(self, day, signins, files, skip):
        base = EPOCH + timedelta(days=day)
        for u in self.users:
            n = self.r.randint(3, 6)
            for _ in range(n):
                t = base + timedelta(hours=self.r.randint(7, 17), minutes=self.r.randint(0, 59),
                                     seconds=self.r.randint(0, 59), microseconds=self.r.randint(0, 999999))
                if skip(u, t):
                    continue
                if self.r.random() < 0.03:  # a typo first
                    signins.append(self.signin(t - timedelta(seconds=20), u, ok=False, code=50126))
                signins.append(self.signin(t, u))
            for _ in range(self.r.randint(0, 3)):
                t = base + timedelta(hours=self.r.randint(8, 17), minutes=self.r.randint(0, 59),
                                     seconds=self.r.randint(0, 59))
                if skip(u, t):
                    continue
                op = self.r.choice(["FileAccessed", "FileDownloaded", "FilePreviewed"])
                files.append(self.file_op(t, u, op, "report-%04d.xlsx" % self.r.randint(0, 9999)))


def by_name(g, name):
    return next(u for u in g.users if u["upn"].startswith(name + "@"))


def scenarios(g, signins, files):
    # Password spray from one source, day 5 at 02:00: one wrong password per account.
    t0 = EPOCH + timedelta(days=5, hours=2)
    targets = [u for u in g.users if not u["upn"].startswith(("ceo@", "cfo@", "amelie.laurent@"))]
    g.r.shuffle(targets)
    spray_device = ("Linux", "Python Requests", "python-requests/2.31.0")
    for i, u in enumerate(targets[:40]):
        signins.append(g.signin(t0 + timedelta(seconds=10 * i), u, ok=False, code=50126,
                                ip=ATTACKER_IP, city=("Frankfurt am Main", "Hesse", "DE", 50.1109, 8.6821, "185.220.", 208294),
                                device=spray_device))
    # Impossible travel, day 4: Paris 09:00, Sydney 09:40 (same laptop).
    a = by_name(g, "amelie.laurent")
    signins.append(g.signin(EPOCH + timedelta(days=4, hours=9), a))
    signins.append(g.signin(EPOCH + timedelta(days=4, hours=9, minutes=40), a, city=SYDNEY,
                            ip="1.120.33.7"))
    # VIP sign-in from a country never seen for the account, day 6 10:00.
    ceo = by_name(g, "ceo")
    signins.append(g.signin(EPOCH + timedelta(days=6, hours=10), ceo, city=LAGOS, ip="102.89.1.77"))
    # Mass download, day 3 14:00: 150 files in 8 minutes.
    j = by_name(g, "jonas.weber")
    for i in range(150):
        files.append(g.file_op(EPOCH + timedelta(days=3, hours=14, seconds=3 * i + 1), j,
                               "FileDownloaded", "client-ledger-%03d.xlsx" % i))


def quiet(u, t):
    """Benign activity that would blur the planted incidents is left out."""
    upn = u["upn"]
    if upn.startswith("amelie.laurent@"):  # only the two travel sign-ins on day 4-5
        return EPOCH + timedelta(days=4) <= t < EPOCH + timedelta(days=5, hours=12)
    if upn.startswith("ceo@"):  # nothing around the Lagos sign-in
        return EPOCH + timedelta(days=5, hours=18) <= t < EPOCH + timedelta(days=8)
    if upn.startswith("jonas.weber@"):
        return EPOCH + timedelta(days=3) <= t < EPOCH + timedelta(days=4)
    return False


def write(path, recs):
    recs.sort(key=lambda x: x[0])
    with open(path, "w") as f:
        for _, line in recs:
            f.write(line)
            f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--users", type=int, default=60)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--no-scenarios", action="store_true")
    ap.add_argument("--bench-bytes", type=int, default=0,
                    help="write only signins.jsonl, benign days until it is at least this big")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    g = Gen(a.seed, a.users)
    if a.bench_bytes:
        size, day = 0, 0
        path = os.path.join(a.out, "signins.jsonl")
        with open(path, "w") as f:
            while size < a.bench_bytes:
                s, fl = [], []
                g.benign_day(day, s, fl, lambda u, t: False)
                s.sort(key=lambda x: x[0])
                for _, line in s:
                    f.write(line)
                    f.write("\n")
                    size += len(line) + 1
                day += 1
        print("%s: %d bytes, %d days" % (path, size, day))
        return
    signins, files = [], []
    for d in range(a.days):
        g.benign_day(d, signins, files, quiet if not a.no_scenarios else (lambda u, t: False))
    if not a.no_scenarios:
        scenarios(g, signins, files)
    write(os.path.join(a.out, "signins.jsonl"), signins)
    write(os.path.join(a.out, "m365.jsonl"), files)
    with open(os.path.join(a.out, "vip.txt"), "w") as f:
        f.write("# executives\nceo@%s\ncfo@%s\n" % (DOMAIN, DOMAIN))


if __name__ == "__main__":
    main()
