"""Packet building for the scenario generator: Ethernet/IPv4/TCP/UDP/ICMP frames with correct
checksums, a small TCP connection model (handshake, MSS segmentation, delayed ACKs, FIN/RST
teardown) and a classic pcap writer. Standard library only, so the generator runs anywhere.

Times are integer microseconds since the Unix epoch; nothing here reads the wall clock.
"""

import struct
import sys
from array import array

LINKTYPE_ETHERNET = 1
PCAP_MAGIC_US = 0xA1B2C3D4
SNAPLEN = 262144

ETH_IPV4 = 0x0800
PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

_LITTLE = sys.byteorder == "little"
# Traffic leaving the monitored networks goes through the border router: one MAC for all of it.
ROUTER_MAC = bytes.fromhex("001b17000101")


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum. Summing native-order words and swapping once at the end is
    equivalent to summing big-endian words (the one's-complement sum is byte-order independent)
    and keeps the loop in C."""
    if len(data) & 1:
        data += b"\x00"
    s = sum(array("H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    if _LITTLE:
        s = ((s & 0xFF) << 8) | (s >> 8)
    return ~s & 0xFFFF


def ip_to_bytes(ip: str) -> bytes:
    return bytes(int(x) for x in ip.split("."))


class Host:
    """One IPv4 endpoint: its MAC as seen on the monitored segment, TTL as seen at the sensor,
    IP ID counter, ephemeral port allocator and TCP MSS."""

    __slots__ = ("ip", "ipb", "mac", "ttl", "ip_id", "next_port", "port_lo", "port_hi", "mss", "os")

    def __init__(self, ip, rng, internal, os="linux", mss=1460):
        self.ip = ip
        self.ipb = ip_to_bytes(ip)
        self.os = os
        self.mss = mss
        if internal:
            # VMware-style OUI, host part from the address so MACs are stable across seeds.
            self.mac = b"\x00\x50\x56" + self.ipb[1:]
            self.ttl = 128 if os == "windows" else 64
        else:
            self.mac = ROUTER_MAC
            self.ttl = (128 if os == "windows" else 64) - rng.randint(7, 22)
        self.ip_id = rng.randint(0, 0xFFFF)
        if os == "windows":
            self.port_lo, self.port_hi = 49152, 65535
        else:
            self.port_lo, self.port_hi = 32768, 60999
        self.next_port = rng.randint(self.port_lo, self.port_hi)

    def ephemeral(self):
        p = self.next_port
        self.next_port = p + 1 if p < self.port_hi else self.port_lo
        return p

    def next_id(self):
        self.ip_id = (self.ip_id + 1) & 0xFFFF
        return self.ip_id


class Net:
    """Collects frames (time, insertion order, bytes) and builds IPv4 packets."""

    def __init__(self, rng, is_internal):
        self.rng = rng
        self.is_internal = is_internal
        self.hosts = {}
        self.frames = []
        self._order = 0

    def host(self, ip, os=None, mss=None):
        h = self.hosts.get(ip)
        if h is None:
            internal = self.is_internal(ip)
            if os is None:
                os = "linux" if not internal else ("windows" if self.rng.random() < 0.7 else "linux")
            h = Host(ip, self.rng, internal, os=os, mss=mss or 1460)
            self.hosts[ip] = h
        return h

    def emit(self, t, frame):
        self.frames.append((t, self._order, frame))
        self._order += 1

    def ipv4(self, t, src, dst, proto, l4, df=True):
        total = 20 + len(l4)
        hdr = struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            total,
            src.next_id(),
            0x4000 if df else 0,
            src.ttl,
            proto,
            0,
            src.ipb,
            dst.ipb,
        )
        c = checksum(hdr)
        frame = dst.mac + src.mac + b"\x08\x00" + hdr[:10] + struct.pack("!H", c) + hdr[12:] + l4
        self.emit(t, frame)

    def udp(self, t, src, sport, dst, dport, payload):
        length = 8 + len(payload)
        pseudo = src.ipb + dst.ipb + struct.pack("!BBH", 0, PROTO_UDP, length)
        hdr = struct.pack("!HHHH", sport, dport, length, 0)
        c = checksum(pseudo + hdr + payload) or 0xFFFF
        self.ipv4(t, src, dst, PROTO_UDP, struct.pack("!HHHH", sport, dport, length, c) + payload, df=False)

    def icmp(self, t, src, dst, icmp_type, code, rest, payload):
        body = struct.pack("!BBH", icmp_type, code, 0) + rest + payload
        c = checksum(body)
        self.ipv4(t, src, dst, PROTO_ICMP, body[:2] + struct.pack("!H", c) + body[4:], df=False)

    def ping(self, t, src, dst, ident, seq, rtt):
        payload = bytes(range(0x10, 0x38))  # 40 bytes like Linux ping after the timestamp
        stamp = struct.pack("<QQ", t // 1_000_000, t % 1_000_000)
        rest = struct.pack("!HH", ident, seq)
        self.icmp(t, src, dst, 8, 0, rest, stamp + payload)
        self.icmp(t + rtt, dst, src, 0, 0, rest, stamp + payload)

    def sorted_frames(self):
        self.frames.sort(key=lambda f: (f[0], f[1]))
        return self.frames


def write_pcap(path, frames):
    """Classic libpcap (microsecond) file, Ethernet link type, frames already time-sorted."""
    head = struct.pack("<IHHiIII", PCAP_MAGIC_US, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET)
    rec = struct.Struct("<IIII")
    with open(path, "wb", buffering=1 << 20) as f:
        f.write(head)
        for t, _, frame in frames:
            sec, usec = divmod(t, 1_000_000)
            n = len(frame)
            f.write(rec.pack(sec, usec, n, n))
            f.write(frame)


def read_pcap(path):
    """Yields (time_us, frame) from a classic little-endian microsecond pcap (tests use it)."""
    with open(path, "rb") as f:
        data = f.read()
    magic, vmaj, vmin, _, _, snaplen, link = struct.unpack_from("<IHHiIII", data, 0)
    if magic != PCAP_MAGIC_US or link != LINKTYPE_ETHERNET:
        raise ValueError("not a little-endian microsecond Ethernet pcap")
    off = 24
    while off < len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, off)
        off += 16
        if incl != orig or off + incl > len(data):
            raise ValueError("truncated record at offset %d" % (off - 16))
        yield sec * 1_000_000 + usec, data[off : off + incl]
        off += incl


def syn_options(host):
    mss = struct.pack("!BBH", 2, 4, host.mss)
    if host.os == "windows":
        return mss + b"\x01\x03\x03\x08\x01\x01\x04\x02"  # NOP, WS=8, NOP, NOP, SACK_PERM
    return mss + b"\x04\x02\x01\x01\x01\x03\x03\x07"  # SACK_PERM, NOP, NOP, NOP, WS=7 (padded)


class TcpConn:
    """A TCP connection between a client and a server as seen by a sensor in the middle: each
    packet reaches the sensor half a round trip after the packet it answers.

    self.t is the connection's clock: the time at which the last sent data has reached the peer.
    """

    def __init__(self, net, cli, srv, dport, t, rtt, sport=None, bandwidth=100e6):
        self.net = net
        self.c = cli
        self.s = srv
        self.sport = sport if sport is not None else cli.ephemeral()
        self.dport = dport
        self.t = t
        self.rtt = max(2, int(rtt))
        self.cseq = net.rng.getrandbits(32)
        self.sseq = net.rng.getrandbits(32)
        # Window fields after the handshake, scaled by the SYN's window scale (8 Windows, 7 Linux).
        self.cwin = 1026 if cli.os == "windows" else 502
        self.swin = 8212 if srv.os == "windows" else 509
        self.mss = min(cli.mss, srv.mss)
        # microseconds to put one byte on the wire at this connection's throughput
        self.us_per_byte = 8e6 / bandwidth
        self.bytes_c2s = 0
        self.bytes_s2c = 0
        self.pseudo_c = cli.ipb + srv.ipb + b"\x00\x06"
        self.pseudo_s = srv.ipb + cli.ipb + b"\x00\x06"

    def _seg(self, t, from_client, flags, payload=b"", opts=b"", window=None):
        if from_client:
            src, dst, sp, dp, seq, ack = self.c, self.s, self.sport, self.dport, self.cseq, self.sseq
            pseudo = self.pseudo_c
            win = self.cwin if window is None else window
        else:
            src, dst, sp, dp, seq, ack = self.s, self.c, self.dport, self.sport, self.sseq, self.cseq
            pseudo = self.pseudo_s
            win = self.swin if window is None else window
        if not flags & ACK:
            ack = 0
        off = (20 + len(opts)) // 4
        hdr = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, off << 4, flags, win, 0, 0) + opts
        seglen = len(hdr) + len(payload)
        c = checksum(pseudo + struct.pack("!H", seglen) + hdr + payload)
        self.net.ipv4(t, src, dst, PROTO_TCP, hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload)
        adv = len(payload) + (1 if flags & (SYN | FIN) else 0)
        if from_client:
            self.cseq = (self.cseq + adv) & 0xFFFFFFFF
        else:
            self.sseq = (self.sseq + adv) & 0xFFFFFFFF

    def handshake(self):
        half = self.rtt // 2
        self._seg(self.t, True, SYN, opts=syn_options(self.c), window=64240)
        self._seg(
            self.t + half,
            False,
            SYN | ACK,
            opts=syn_options(self.s),
            window=65535 if self.s.os == "windows" else 65160,
        )
        self.t += self.rtt
        self._seg(self.t, True, ACK)
        return self

    def syn_unanswered(self, retries=1):
        """SYN (plus retransmissions at 1 s, 2 s back-off) that nobody answers: filtered port."""
        t = self.t
        gap = 1_000_000
        for _ in range(retries + 1):
            self._seg(t, True, SYN, opts=syn_options(self.c), window=64240)
            self.cseq = (self.cseq - 1) & 0xFFFFFFFF  # a retransmission reuses the ISN
            t += gap
            gap *= 2
        self.t = t

    def syn_rst(self):
        """SYN answered by RST/ACK: closed port."""
        self._seg(self.t, True, SYN, opts=syn_options(self.c), window=64240)
        self._seg(self.t + self.rtt // 2, False, RST | ACK, window=0)
        self.t += self.rtt

    def send(self, from_client, data, think=0, ack_last=True):
        """Sends data in MSS-sized segments after `think` microseconds; the receiver ACKs every
        second segment and, when ack_last, the final one (delayed ACK)."""
        self.t += think
        if not data:
            return
        mss = self.mss
        n = len(data)
        t = self.t
        half = self.rtt // 2
        gap = max(1, int(mss * self.us_per_byte))
        count = 0
        for off in range(0, n, mss):
            chunk = data[off : off + mss]
            last = off + mss >= n
            self._seg(t, from_client, ACK | (PSH if last else 0), chunk)
            count += 1
            if count % 2 == 0 and not last:
                self._seg(t + half, not from_client, ACK)
            if not last:
                t += gap
        if ack_last:
            self._seg(t + half, not from_client, ACK)
        if from_client:
            self.bytes_c2s += n
        else:
            self.bytes_s2c += n
        self.t = t + half

    def exchange(self, request, response, server_think=300, client_think=0):
        """One request from the client and its response from the server."""
        self.send(True, request, think=client_think, ack_last=False)
        self.send(False, response, think=server_think, ack_last=True)

    def close(self, from_client=True, think=0):
        self.t += think
        half = self.rtt // 2
        self._seg(self.t, from_client, FIN | ACK)
        self._seg(self.t + half, not from_client, FIN | ACK)
        self.t += self.rtt
        self._seg(self.t, from_client, ACK)

    def reset(self, from_client=True, think=0):
        self.t += think
        self._seg(self.t, from_client, RST | ACK)
