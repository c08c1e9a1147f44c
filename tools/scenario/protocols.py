"""Application-layer message builders for the scenario generator: DNS, HTTP/1.1, TLS 1.2/1.3
handshakes, SSH, NTP and SMB2 with NTLMSSP inside SPNEGO. Each returns the bytes a real
implementation puts on the wire (structures from RFC 1035, RFC 9112, RFC 5246/8446, RFC 4253,
RFC 5905, [MS-SMB2], [MS-NLMP], RFC 4178). Randomness always comes from the caller's
random.Random so output is deterministic.
"""

import gzip
import struct

# ---------------------------------------------------------------------------------------------
# DNS

QTYPE = {"A": 1, "NS": 2, "CNAME": 5, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33}


def dns_name(name: str) -> bytes:
    out = bytearray()
    for label in name.rstrip(".").split("."):
        b = label.encode("ascii")
        out.append(len(b))
        out += b
    out.append(0)
    return bytes(out)


_OPT_RR = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)  # EDNS0, 1232-byte UDP payload


def dns_query(qid, name, qtype="A", edns=True):
    flags = 0x0100  # RD
    head = struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 1 if edns else 0)
    return head + dns_name(name) + struct.pack("!HH", QTYPE[qtype], 1) + (_OPT_RR if edns else b"")


def dns_response(qid, name, qtype, answers, rcode=0, edns=True):
    """answers: list of (rtype, ttl, rdata) where rdata is an IPv4 string for A, a name for CNAME,
    or a list of byte strings for TXT. The first answer owns the question name (pointer 0xc00c);
    after a CNAME the following records own the CNAME target, compressed to its first copy."""
    flags = 0x8180 | rcode  # QR, RD, RA
    qname = dns_name(name)
    body = bytearray(struct.pack("!HHHHHH", qid, flags, 1, len(answers), 0, 1 if edns else 0))
    body += qname + struct.pack("!HH", QTYPE[qtype], 1)
    owner_ptr = 0xC00C
    for rtype, ttl, rdata in answers:
        if rtype == "A":
            rd = bytes(int(x) for x in rdata.split("."))
        elif rtype == "CNAME":
            rd = dns_name(rdata)
        elif rtype == "TXT":
            rd = b"".join(bytes([len(s)]) + s for s in rdata)
        else:
            raise ValueError(rtype)
        body += struct.pack("!HHHIH", owner_ptr, QTYPE[rtype], 1, ttl, len(rd))
        if rtype == "CNAME":
            owner_ptr = 0xC000 | len(body)
        body += rd
    if edns:
        body += _OPT_RR
    return bytes(body)


# ---------------------------------------------------------------------------------------------
# HTTP/1.1

HTTP_DATE_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HTTP_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(t_us):
    import time

    tm = time.gmtime(t_us // 1_000_000)
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        HTTP_DATE_DAYS[tm.tm_wday],
        tm.tm_mday,
        HTTP_MONTHS[tm.tm_mon - 1],
        tm.tm_year,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
    )


def http_request(method, path, host, user_agent, extra=(), body=b""):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: " + host, "User-Agent: " + user_agent, "Accept: */*"]
    lines += list(extra)
    if body:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def http_response(
    status,
    reason,
    body,
    t_us,
    content_type="text/html; charset=utf-8",
    gzip_body=False,
    server="nginx",
    extra=(),
):
    headers = ["HTTP/1.1 %d %s" % (status, reason), "Date: " + http_date(t_us)]
    if server:
        headers.append("Server: " + server)
    headers.append("Content-Type: " + content_type)
    if gzip_body:
        body = gzip.compress(body, compresslevel=6, mtime=0)
        headers.append("Content-Encoding: gzip")
        headers.append("Vary: Accept-Encoding")
    headers.append("Content-Length: %d" % len(body))
    headers += list(extra)
    return ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + body


# ---------------------------------------------------------------------------------------------
# TLS


def _u8(b):
    return bytes([len(b)]) + b


def _u16(b):
    return struct.pack("!H", len(b)) + b


def _u24(b):
    return struct.pack("!I", len(b))[1:] + b


def tls_record(ctype, body, version=0x0303):
    out = bytearray()
    for off in range(0, max(1, len(body)), 16384):
        chunk = body[off : off + 16384]
        out += struct.pack("!BHH", ctype, version, len(chunk)) + chunk
    return bytes(out)


def _handshake(htype, body):
    return bytes([htype]) + _u24(body)


def _ext(etype, data):
    return struct.pack("!H", etype) + _u16(data)


GREASE = [0x0A0A + 0x1010 * i for i in range(16)]

# Cipher suite lists of the client kinds in the scenario (they give distinct JA3 hashes).
CLIENT_PROFILES = {
    "browser": dict(
        ciphers=[
            0x1301,
            0x1302,
            0x1303,
            0xC02B,
            0xC02F,
            0xC02C,
            0xC030,
            0xCCA9,
            0xCCA8,
            0xC013,
            0xC014,
            0x009C,
            0x009D,
            0x002F,
            0x0035,
        ],
        tls13=True,
        grease=True,
        alpn=[b"h2", b"http/1.1"],
    ),
    "curl": dict(
        ciphers=[
            0x1302,
            0x1303,
            0x1301,
            0xC02C,
            0xC030,
            0x009F,
            0xCCA9,
            0xCCA8,
            0xCCAA,
            0xC02B,
            0xC02F,
            0x009E,
            0xC024,
            0xC028,
            0x006B,
            0xC023,
            0xC027,
            0x0067,
            0xC00A,
            0xC014,
            0x0039,
            0xC009,
            0xC013,
            0x0033,
            0x009D,
            0x009C,
            0x003D,
            0x003C,
            0x0035,
            0x002F,
            0x00FF,
        ],
        tls13=True,
        grease=False,
        alpn=[b"http/1.1"],
    ),
    "appliance": dict(
        ciphers=[
            0xC030,
            0xC02C,
            0xC028,
            0xC024,
            0xC014,
            0xC00A,
            0x009F,
            0x006B,
            0x0039,
            0x009D,
            0x003D,
            0x0035,
            0xC02F,
            0xC02B,
            0xC027,
            0xC023,
            0xC013,
            0xC009,
            0x009E,
            0x0067,
            0x0033,
            0x009C,
            0x003C,
            0x002F,
            0x00FF,
        ],
        tls13=False,
        grease=False,
        alpn=[],
    ),
    "implant": dict(
        ciphers=[
            0xC02C,
            0xC02B,
            0xC030,
            0xC02F,
            0xC024,
            0xC023,
            0xC028,
            0xC027,
            0xC00A,
            0xC009,
            0xC014,
            0xC013,
            0x009D,
            0x009C,
            0x003D,
            0x003C,
            0x0035,
            0x002F,
            0x000A,
        ],
        tls13=False,
        grease=False,
        alpn=[],
    ),
}


def tls_client_hello(rng, sni, profile="browser"):
    p = CLIENT_PROFILES[profile]
    grease = rng.choice(GREASE) if p["grease"] else None
    ciphers = ([grease] if grease else []) + p["ciphers"]
    exts = []
    if grease:
        exts.append(_ext(grease, b""))
    if sni:
        name = sni.encode("ascii")
        exts.append(_ext(0, _u16(b"\x00" + _u16(name))))
    exts.append(_ext(23, b""))  # extended_master_secret
    exts.append(_ext(0xFF01, b"\x00"))  # renegotiation_info
    groups = [0x001D, 0x0017, 0x0018]
    exts.append(_ext(10, _u16(b"".join(struct.pack("!H", g) for g in groups))))
    exts.append(_ext(11, b"\x01\x00"))  # ec_point_formats: uncompressed
    exts.append(_ext(35, b""))  # session_ticket
    if p["alpn"]:
        exts.append(_ext(16, _u16(b"".join(_u8(a) for a in p["alpn"]))))
    exts.append(_ext(5, b"\x01\x00\x00\x00\x00"))  # status_request (OCSP)
    sigalgs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
    exts.append(_ext(13, _u16(b"".join(struct.pack("!H", s) for s in sigalgs))))
    if p["tls13"]:
        exts.append(_ext(51, _u16(struct.pack("!H", 0x001D) + _u16(rng.randbytes(32)))))
        exts.append(_ext(45, b"\x01\x01"))  # psk_key_exchange_modes: psk_dhe_ke
        exts.append(_ext(43, _u8(b"\x03\x04\x03\x03")))  # supported_versions
    body = struct.pack("!H", 0x0303) + rng.randbytes(32) + _u8(rng.randbytes(32) if p["tls13"] else b"")
    body += _u16(b"".join(struct.pack("!H", c) for c in ciphers)) + b"\x01\x00" + _u16(b"".join(exts))
    hs = _handshake(1, body)
    return tls_record(22, hs, version=0x0301), hs


def tls13_server_flight(rng, client_hello_hs):
    """ServerHello (TLS 1.3, x25519), ChangeCipherSpec, then the encrypted handshake."""
    sid = client_hello_hs[4 + 2 + 32 + 1 : 4 + 2 + 32 + 1 + client_hello_hs[4 + 2 + 32]]
    exts = _ext(43, b"\x03\x04") + _ext(51, struct.pack("!H", 0x001D) + _u16(rng.randbytes(32)))
    body = (
        struct.pack("!H", 0x0303) + rng.randbytes(32) + _u8(sid) + struct.pack("!HB", 0x1301, 0) + _u16(exts)
    )
    out = tls_record(22, _handshake(2, body)) + tls_record(20, b"\x01")
    out += tls_record(23, rng.randbytes(rng.randint(2400, 4200)))  # EE + Certificate + CV + Finished
    return out


def tls13_client_finish(rng):
    return tls_record(20, b"\x01") + tls_record(23, rng.randbytes(53))


def tls12_server_flight(rng, cert_der, cipher=0xC02B):
    """ServerHello, Certificate, ServerKeyExchange (ECDHE x25519, ECDSA signature), ServerHelloDone."""
    exts = _ext(0xFF01, b"\x00") + _ext(11, b"\x01\x00") + _ext(23, b"")
    hello = (
        struct.pack("!H", 0x0303)
        + rng.randbytes(32)
        + _u8(rng.randbytes(32))
        + struct.pack("!HB", cipher, 0)
        + _u16(exts)
    )
    cert = _u24(_u24(cert_der))
    ske = b"\x03" + struct.pack("!H", 0x001D) + _u8(rng.randbytes(32))
    ske += struct.pack("!H", 0x0403) + _u16(
        b"\x30\x45\x02\x20" + rng.randbytes(32) + b"\x02\x21\x00" + rng.randbytes(32)
    )
    hs = _handshake(2, hello) + _handshake(11, cert) + _handshake(12, ske) + _handshake(14, b"")
    return tls_record(22, hs)


def tls12_client_finish(rng):
    return (
        tls_record(22, _handshake(16, _u8(rng.randbytes(32))))
        + tls_record(20, b"\x01")
        + tls_record(22, rng.randbytes(40))
    )


def tls12_server_finish(rng):
    return tls_record(20, b"\x01") + tls_record(22, rng.randbytes(40))


def tls_app_data(rng, n):
    """Encrypted application data: n plaintext bytes in records with a 16-byte AEAD tag and
    (TLS 1.2) 8-byte explicit nonce; random bytes stand in for ciphertext."""
    out = bytearray()
    while n > 0:
        k = min(n, 16384)
        out += struct.pack("!BHH", 23, 0x0303, k + 24) + rng.randbytes(k + 24)
        n -= k
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# SSH


def _ssh_string(b):
    return struct.pack("!I", len(b)) + b


def ssh_packet(rng, payload, block=8):
    pad = block - ((5 + len(payload)) % block)
    if pad < 4:
        pad += block
    return struct.pack("!IB", 1 + len(payload) + pad, pad) + payload + rng.randbytes(pad)


def ssh_kexinit(rng, server):
    names = [
        b"curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,diffie-hellman-group16-sha512"
        + (b"" if server else b",ext-info-c,kex-strict-c-v00@openssh.com"),
        b"rsa-sha2-512,rsa-sha2-256,ssh-ed25519"
        if server
        else b"ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
        b"chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
        b"chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
        b"umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com",
        b"umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com",
        b"none,zlib@openssh.com",
        b"none,zlib@openssh.com",
        b"",
        b"",
    ]
    payload = (
        b"\x14" + rng.randbytes(16) + b"".join(_ssh_string(n) for n in names) + b"\x00" + b"\x00\x00\x00\x00"
    )
    return ssh_packet(rng, payload)


def ssh_ecdh_init(rng):
    return ssh_packet(rng, b"\x1e" + _ssh_string(rng.randbytes(32)))


def ssh_ecdh_reply(rng):
    hostkey = _ssh_string(b"ssh-ed25519") + _ssh_string(rng.randbytes(32))
    sig = _ssh_string(b"ssh-ed25519") + _ssh_string(rng.randbytes(64))
    reply = ssh_packet(
        rng, b"\x1f" + _ssh_string(hostkey) + _ssh_string(rng.randbytes(32)) + _ssh_string(sig)
    )
    return reply + ssh_packet(rng, b"\x15")  # SSH_MSG_NEWKEYS


def ssh_newkeys(rng):
    return ssh_packet(rng, b"\x15")


# ---------------------------------------------------------------------------------------------
# NTP

NTP_EPOCH_OFFSET = 2208988800


def _ntp_ts(t_us):
    sec, usec = divmod(t_us, 1_000_000)
    return struct.pack("!II", sec + NTP_EPOCH_OFFSET, (usec << 32) // 1_000_000)


def ntp_client(t_us):
    return struct.pack("!BBbb", 0x23, 0, 6, -20) + b"\x00" * 36 + _ntp_ts(t_us)


def ntp_server(t_us, origin_us, stratum=2, refid=b"\xc0\x00\x02\x01"):
    head = struct.pack("!BBbb", 0x24, stratum, 6, -23) + struct.pack("!II", 0x00000400, 0x00000800) + refid
    return head + _ntp_ts(t_us - 30_000_000) + _ntp_ts(origin_us) + _ntp_ts(t_us - 40) + _ntp_ts(t_us)


# ---------------------------------------------------------------------------------------------
# SPNEGO (RFC 4178) and NTLMSSP ([MS-NLMP])


def _der(tag, content):
    n = len(content)
    if n < 0x80:
        ln = bytes([n])
    elif n < 0x100:
        ln = b"\x81" + bytes([n])
    else:
        ln = b"\x82" + struct.pack("!H", n)
    return bytes([tag]) + ln + content


OID_SPNEGO = b"\x06\x06\x2b\x06\x01\x05\x05\x02"
OID_NTLMSSP = b"\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"
OID_KRB5 = b"\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"
OID_MSKRB5 = b"\x06\x09\x2a\x86\x48\x82\xf7\x12\x01\x02\x02"


def spnego_init(mech_token=None, mechs=(OID_NTLMSSP,)):
    """GSS-API InitialContextToken carrying a NegTokenInit."""
    inner = _der(0xA0, _der(0x30, b"".join(mechs)))
    if mech_token is not None:
        inner += _der(0xA2, _der(0x04, mech_token))
    return _der(0x60, OID_SPNEGO + _der(0xA0, _der(0x30, inner)))


def spnego_resp(neg_state=None, mech=None, token=None):
    inner = b""
    if neg_state is not None:
        inner += _der(0xA0, _der(0x0A, bytes([neg_state])))
    if mech is not None:
        inner += _der(0xA1, mech)
    if token is not None:
        inner += _der(0xA2, _der(0x04, token))
    return _der(0xA1, _der(0x30, inner))


NTLM_FLAGS = 0xE2088297  # 56, KEY_EXCH, 128, VERSION, TARGET_INFO, EXTENDED_SESSIONSECURITY, ALWAYS_SIGN, NTLM, SIGN, REQUEST_TARGET, OEM, UNICODE
NTLM_VERSION = b"\x0a\x00\x63\x45\x00\x00\x00\x0f"  # Windows 10.0 build 17763, NTLMSSP revision 15


def _filetime(t_us):
    return struct.pack("<Q", (t_us + 11644473600 * 1_000_000) * 10)


def ntlm_negotiate():
    return b"NTLMSSP\x00" + struct.pack("<II", 1, 0xE2088297 | 0x00000001) + b"\x00" * 16 + NTLM_VERSION


def _av(av_id, value):
    return struct.pack("<HH", av_id, len(value)) + value


def ntlm_challenge(rng, t_us, nb_domain, nb_computer, dns_domain):
    target = nb_domain.encode("utf-16-le")
    info = (
        _av(2, nb_domain.encode("utf-16-le"))
        + _av(1, nb_computer.encode("utf-16-le"))
        + _av(4, dns_domain.encode("utf-16-le"))
        + _av(3, (nb_computer.lower() + "." + dns_domain).encode("utf-16-le"))
        + _av(5, dns_domain.encode("utf-16-le"))
        + _av(7, _filetime(t_us))
        + _av(0, b"")
    )
    off_target = 56
    off_info = off_target + len(target)
    head = b"NTLMSSP\x00" + struct.pack("<I", 2)
    head += struct.pack("<HHI", len(target), len(target), off_target)
    head += struct.pack("<I", NTLM_FLAGS) + rng.randbytes(8) + b"\x00" * 8
    head += struct.pack("<HHI", len(info), len(info), off_info) + NTLM_VERSION
    return head + target + info, info


def ntlm_authenticate(rng, t_us, domain, user, workstation, target_info):
    """AUTHENTICATE_MESSAGE with an NTLMv2 response (NTProofStr + client blob). The proofs are
    random: no password exists, only the structure matters."""
    blob = (
        b"\x01\x01\x00\x00\x00\x00\x00\x00"
        + _filetime(t_us)
        + rng.randbytes(8)
        + b"\x00" * 4
        + target_info
        + b"\x00" * 4
    )
    nt = rng.randbytes(16) + blob
    lm = b"\x00" * 24
    dom = domain.encode("utf-16-le")
    usr = user.encode("utf-16-le")
    ws = workstation.encode("utf-16-le")
    key = rng.randbytes(16)
    off = 88
    fields = b""
    payload = b""
    for item in (lm, nt, dom, usr, ws, key):
        fields += struct.pack("<HHI", len(item), len(item), off + len(payload))
        payload += item
    # Field order in the header: Lm, Nt, Domain, User, Workstation, EncryptedRandomSessionKey.
    head = (
        b"NTLMSSP\x00"
        + struct.pack("<I", 3)
        + fields
        + struct.pack("<I", NTLM_FLAGS)
        + NTLM_VERSION
        + rng.randbytes(16)
    )
    assert len(head) == 88
    return head + payload


# ---------------------------------------------------------------------------------------------
# SMB2 ([MS-SMB2])

SMB2_NEGOTIATE, SMB2_SESSION_SETUP, SMB2_LOGOFF, SMB2_TREE_CONNECT, SMB2_TREE_DISCONNECT = 0, 1, 2, 3, 4
SMB2_CREATE, SMB2_CLOSE, SMB2_READ, SMB2_WRITE, SMB2_QUERY_DIRECTORY = 5, 6, 8, 9, 14

STATUS_SUCCESS = 0
STATUS_MORE_PROCESSING_REQUIRED = 0xC0000016
STATUS_END_OF_FILE = 0xC0000011
STATUS_NO_MORE_FILES = 0x80000006

FILE_ATTRIBUTE_DIRECTORY = 0x10
FILE_ATTRIBUTE_ARCHIVE = 0x20


def netbios(msg):
    return struct.pack("!I", len(msg)) + msg  # type 0 (session message) + 24-bit length


def smb2_header(cmd, msg_id, session_id=0, tree_id=0, status=0, response=False, credits=1, charge=1):
    flags = 0x00000001 if response else 0
    return (
        b"\xfeSMB"
        + struct.pack("<HHIHHII", 64, charge, status, cmd, credits, flags, 0)
        + struct.pack("<QIIQ", msg_id, 0xFEFF, tree_id, session_id)
        + b"\x00" * 16
    )


def smb2_negotiate_req(rng, t_us):
    dialects = [0x0202, 0x0210, 0x0300, 0x0302]
    body = struct.pack("<HHHHI", 36, len(dialects), 0x0001, 0, 0x0000007F) + rng.randbytes(16) + b"\x00" * 8
    return body + b"".join(struct.pack("<H", d) for d in dialects)


def smb2_negotiate_resp(server_guid, t_us, boot_us):
    token = spnego_init(None, mechs=(OID_MSKRB5, OID_KRB5, OID_NTLMSSP))
    body = struct.pack("<HHHH", 65, 0x0001, 0x0302, 0) + server_guid
    body += struct.pack("<IIII", 0x0000002F, 8388608, 8388608, 8388608) + _filetime(t_us) + _filetime(boot_us)
    body += struct.pack("<HHI", 128, len(token), 0) + token
    return body


def smb2_session_setup_req(blob):
    return struct.pack("<HBBIIHHQ", 25, 0, 0x01, 0x00000001, 0, 88, len(blob), 0) + blob


def smb2_session_setup_resp(blob):
    return struct.pack("<HHHH", 9, 0, 72, len(blob)) + blob


def smb2_tree_connect_req(path):
    p = path.encode("utf-16-le")
    return struct.pack("<HHHH", 9, 0, 72, len(p)) + p


def smb2_tree_connect_resp(ipc=False):
    return struct.pack("<HBBIII", 16, 2 if ipc else 1, 0, 0x00000000, 0, 0x001F01FF)


def smb2_create_req(name, directory=False, write=False):
    n = name.encode("utf-16-le")
    if directory:  # DIRECTORY_FILE|SYNCHRONOUS_IO_NONALERT; SYNCHRONIZE|READ_DATA|READ_ATTRIBUTES
        options, access, disposition = 0x00000021, 0x00100081, 1
    elif write:  # NON_DIRECTORY_FILE; generic write access; FILE_OVERWRITE_IF
        options, access, disposition = 0x00000044, 0x0012019F, 5
    else:  # NON_DIRECTORY_FILE; READ_DATA|READ_EA|READ_ATTRIBUTES|READ_CONTROL|SYNCHRONIZE; FILE_OPEN
        options, access, disposition = 0x00000040, 0x00120089, 1
    body = struct.pack("<HBBIQQIIIII", 57, 0, 0, 2, 0, 0, access, 0, 0x00000007, disposition, options)
    body += struct.pack("<HHII", 120, len(n), 0, 0)
    return body + (n if n else b"\x00")


def smb2_create_resp(file_id, t_us, size, directory=False):
    ft = _filetime(t_us - 86_400_000_000 * 30)
    attrs = FILE_ATTRIBUTE_DIRECTORY if directory else FILE_ATTRIBUTE_ARCHIVE
    alloc = (size + 4095) // 4096 * 4096
    body = struct.pack("<HBBI", 89, 0, 0, 1) + ft * 4 + struct.pack("<QQII", alloc, size, attrs, 0) + file_id
    return body + struct.pack("<II", 0, 0)


def smb2_read_req(file_id, length, offset):
    return (
        struct.pack("<HBBIQ", 49, 0x50, 0, length, offset)
        + file_id
        + struct.pack("<IIIHH", 1, 0, 0, 0, 0)
        + b"\x00"
    )


def smb2_read_resp(data):
    return struct.pack("<HBBIII", 17, 80, 0, len(data), 0, 0) + data


def smb2_write_req(file_id, offset, data):
    head = (
        struct.pack("<HHIQ", 49, 64 + 48, len(data), offset) + file_id + struct.pack("<IIHHI", 0, 0, 0, 0, 0)
    )
    return head + data


def smb2_write_resp(count):
    return struct.pack("<HHIIHH", 17, 0, count, 0, 0, 0)


def smb2_close_req(file_id):
    return struct.pack("<HHI", 24, 0, 0) + file_id


def smb2_close_resp():
    return struct.pack("<HHI", 60, 0, 0) + b"\x00" * 32 + struct.pack("<QQI", 0, 0, 0)


def smb2_query_directory_req(file_id, pattern="*"):
    p = pattern.encode("utf-16-le")
    return struct.pack("<HBBI", 33, 0x25, 0, 0) + file_id + struct.pack("<HHI", 96, len(p), 65536) + p


def smb2_query_directory_resp(entries, t_us):
    """FileIdBothDirectoryInformation entries: (name, size, is_dir)."""
    ft = _filetime(t_us - 86_400_000_000 * 30)
    out = bytearray()
    for i, (name, size, is_dir) in enumerate(entries):
        n = name.encode("utf-16-le")
        rec = (
            struct.pack("<II", 0, i)
            + ft * 4
            + struct.pack(
                "<QQIII",
                size,
                (size + 4095) // 4096 * 4096,
                FILE_ATTRIBUTE_DIRECTORY if is_dir else FILE_ATTRIBUTE_ARCHIVE,
                len(n),
                0,
            )
        )
        rec += b"\x00" + b"\x00" + b"\x00" * 24 + b"\x00\x00" + struct.pack("<Q", 0x1000 + i) + n
        pad = (-len(rec)) % 8
        if i != len(entries) - 1:
            rec = struct.pack("<I", len(rec) + pad) + rec[4:] + b"\x00" * pad
        out += rec
    return struct.pack("<HHI", 9, 72, len(out)) + bytes(out)


def smb2_simple(structure_size=4):
    return struct.pack("<HH", structure_size, 0)
