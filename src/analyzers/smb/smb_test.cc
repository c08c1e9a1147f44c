#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "analyzers/files/capture_sink.h"
#include "analyzers/files/pcap_streams.h"
#include "analyzers/smb/ntlmssp.h"
#include "analyzers/smb/smb_names.h"
#include "analyzers/smb/smb_session.h"

namespace komainu::smb {
namespace {

using testing::CaptureSink;
using Bytes = std::vector<uint8_t>;

void le16(Bytes& b, uint16_t v) {
  b.push_back(uint8_t(v));
  b.push_back(uint8_t(v >> 8));
}
void le32(Bytes& b, uint32_t v) {
  le16(b, uint16_t(v));
  le16(b, uint16_t(v >> 16));
}
void le64(Bytes& b, uint64_t v) {
  le32(b, uint32_t(v));
  le32(b, uint32_t(v >> 32));
}
Bytes utf16(std::string_view s) {
  Bytes b;
  for (char c : s) le16(b, uint8_t(c));
  return b;
}

// An SMB2 header; the body follows.
Bytes header(uint16_t cmd, uint64_t msgid, bool response, uint32_t status = 0, uint32_t tree = 1,
             uint64_t session = 0x77, uint32_t flags = 0) {
  Bytes b = {0xFE, 'S', 'M', 'B'};
  le16(b, 64);
  le16(b, 1);
  le32(b, status);
  le16(b, cmd);
  le16(b, 1);
  le32(b, flags | (response ? 1 : 0));
  le32(b, 0);  // NextCommand
  le64(b, msgid);
  le32(b, 0);
  le32(b, tree);
  le64(b, session);
  b.resize(b.size() + 16);
  return b;
}

Bytes nbss(const Bytes& pdu) {
  Bytes b = {0, uint8_t(pdu.size() >> 16), uint8_t(pdu.size() >> 8), uint8_t(pdu.size())};
  b.insert(b.end(), pdu.begin(), pdu.end());
  return b;
}

// Several SMB2 messages as one compounded PDU (each padded to 8 bytes).
Bytes compound(std::vector<Bytes> msgs) {
  Bytes out;
  for (size_t i = 0; i < msgs.size(); ++i) {
    Bytes& m = msgs[i];
    if (i + 1 < msgs.size()) {
      while (m.size() % 8) m.push_back(0);
      uint32_t next = uint32_t(m.size());
      memcpy(&m[20], &next, 4);
    }
    out.insert(out.end(), m.begin(), m.end());
  }
  return out;
}

const FileId kFid{0x1122334455667788ull, 0x99aabbccddeeff00ull};

Bytes create_request(uint64_t msgid, std::string_view name, uint32_t disposition = 1,
                     uint32_t options = 0, uint32_t flags = 0) {
  Bytes b = header(5, msgid, false, 0, 1, 0x77, flags);
  le16(b, 57);
  b.push_back(0);
  b.push_back(0);
  le32(b, 2);
  le64(b, 0);
  le64(b, 0);
  le32(b, 0x12019f);
  le32(b, 0x80);
  le32(b, 7);
  le32(b, disposition);
  le32(b, options);
  Bytes n = utf16(name);
  le16(b, uint16_t(120));
  le16(b, uint16_t(n.size()));
  le32(b, 0);
  le32(b, 0);
  b.insert(b.end(), n.begin(), n.end());
  return b;
}

Bytes create_response(uint64_t msgid, FileId fid, uint64_t size, uint32_t flags = 0) {
  Bytes b = header(5, msgid, true, 0, 1, 0x77, flags);
  le16(b, 89);
  b.push_back(0);
  b.push_back(0);
  le32(b, 1);
  uint64_t ft = 132000000000000000ull;  // 2019-04-14
  le64(b, ft);
  le64(b, ft + 10000000);
  le64(b, ft + 20000000);
  le64(b, ft + 30000000);
  le64(b, 4096);
  le64(b, size);
  le32(b, 0x20);
  le32(b, 0);
  le64(b, fid.persistent);
  le64(b, fid.volatile_id);
  le32(b, 0);
  le32(b, 0);
  return b;
}

Bytes read_request(uint64_t msgid, FileId fid, uint64_t offset, uint32_t len, uint32_t flags = 0) {
  Bytes b = header(8, msgid, false, 0, 1, 0x77, flags);
  le16(b, 49);
  b.push_back(0x50);
  b.push_back(0);
  le32(b, len);
  le64(b, offset);
  le64(b, fid.persistent);
  le64(b, fid.volatile_id);
  le32(b, 0);
  le32(b, 0);
  le32(b, 0);
  le16(b, 0);
  le16(b, 0);
  b.push_back(0);
  return b;
}

Bytes read_response(uint64_t msgid, std::string_view data, uint32_t flags = 0) {
  Bytes b = header(8, msgid, true, 0, 1, 0x77, flags);
  le16(b, 17);
  b.push_back(80);
  b.push_back(0);
  le32(b, uint32_t(data.size()));
  le32(b, 0);
  le32(b, 0);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

Bytes write_request(uint64_t msgid, FileId fid, uint64_t offset, std::string_view data) {
  Bytes b = header(9, msgid, false);
  le16(b, 49);
  le16(b, 112);
  le32(b, uint32_t(data.size()));
  le64(b, offset);
  le64(b, fid.persistent);
  le64(b, fid.volatile_id);
  le32(b, 0);
  le32(b, 0);
  le16(b, 0);
  le16(b, 0);
  le32(b, 0);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

Bytes simple_response(uint16_t cmd, uint64_t msgid, uint32_t flags = 0) {
  Bytes b = header(cmd, msgid, true, 0, 1, 0x77, flags);
  le16(b, cmd == 6 ? 60 : 2);
  b.resize(b.size() + (cmd == 6 ? 58 : 0));
  return b;
}

Bytes close_request(uint64_t msgid, FileId fid, uint32_t flags = 0) {
  Bytes b = header(6, msgid, false, 0, 1, 0x77, flags);
  le16(b, 24);
  le16(b, 0);
  le32(b, 0);
  le64(b, fid.persistent);
  le64(b, fid.volatile_id);
  return b;
}

Bytes set_info_request(uint64_t msgid, FileId fid, uint8_t cls, const Bytes& buffer) {
  Bytes b = header(17, msgid, false);
  le16(b, 33);
  b.push_back(1);
  b.push_back(cls);
  le32(b, uint32_t(buffer.size()));
  le16(b, 96);
  le16(b, 0);
  le32(b, 0);
  le64(b, fid.persistent);
  le64(b, fid.volatile_id);
  b.insert(b.end(), buffer.begin(), buffer.end());
  return b;
}

Bytes ntlm_authenticate(std::string_view user, std::string_view domain, std::string_view host) {
  Bytes m = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
  le32(m, 3);
  Bytes d = utf16(domain), u = utf16(user), h = utf16(host);
  uint32_t off = 72;
  auto field = [&](const Bytes& v) {
    le16(m, uint16_t(v.size()));
    le16(m, uint16_t(v.size()));
    le32(m, off);
    off += uint32_t(v.size());
  };
  field({});  // LM
  field({});  // NT
  field(d);
  field(u);
  field(h);
  field({});            // session key
  le32(m, 0x02000001);  // UNICODE | VERSION
  m.push_back(10);
  m.push_back(0);
  le16(m, 19041);
  m.resize(72);
  m.insert(m.end(), d.begin(), d.end());
  m.insert(m.end(), u.begin(), u.end());
  m.insert(m.end(), h.begin(), h.end());
  Bytes blob = {0xa1, 0x82, 0x01, 0x00, 0x30, 0x82};  // SPNEGO wrapping bytes (ignored)
  blob.insert(blob.end(), m.begin(), m.end());
  return blob;
}

struct Harness {
  explicit Harness(SmbLimits limits = {}) {
    flow.uid = "CSmb";
    flow.tuple.src = *IpAddr::parse("10.0.0.1");
    flow.tuple.dst = *IpAddr::parse("10.0.0.2");
    flow.tuple.sport = 50000;
    flow.tuple.dport = 445;
    session = std::make_unique<SmbSession>(SessionContext{&sink, &flow}, limits);
  }
  void client(const Bytes& pdu, bool bytewise = false) {
    send(Direction::kToServer, nbss(pdu), bytewise);
  }
  void server(const Bytes& pdu, bool bytewise = false) {
    send(Direction::kToClient, nbss(pdu), bytewise);
  }
  void send(Direction d, const Bytes& b, bool bytewise) {
    if (!bytewise) {
      session->on_data(d, b, ++ts);
      return;
    }
    for (uint8_t c : b) session->on_data(d, {&c, 1}, ++ts);
  }
  void tree_connect(std::string_view path, uint8_t type) {
    Bytes req = header(3, 10, false, 0, 0);
    le16(req, 9);
    le16(req, 0);
    Bytes p = utf16(path);
    le16(req, 72);
    le16(req, uint16_t(p.size()));
    req.insert(req.end(), p.begin(), p.end());
    client(req);
    Bytes resp = header(3, 10, true, 0, 1);
    le16(resp, 16);
    resp.push_back(type);
    resp.push_back(0);
    le32(resp, 0);
    le32(resp, 0);
    le32(resp, 0x1f01ff);
    server(resp);
  }
  FlowContext flow;
  CaptureSink sink;
  std::unique_ptr<SmbSession> session;
  TimeNs ts = 1000;
};

TEST(Smb, FullSessionAnyChunking) {
  for (bool bytewise : {false, true}) {
    SmbLimits limits;
    limits.log_read_write = true;
    Harness h(limits);
    // NEGOTIATE
    Bytes neg = header(0, 0, false, 0, 0, 0);
    le16(neg, 36);
    le16(neg, 3);
    le16(neg, 1);
    le16(neg, 0);
    le32(neg, 0);
    neg.resize(neg.size() + 16 + 8);
    le16(neg, 0x0202);
    le16(neg, 0x0210);
    le16(neg, 0x0311);
    h.client(neg, bytewise);
    Bytes negr = header(0, 0, true, 0, 0, 0);
    le16(negr, 65);
    le16(negr, 1);
    le16(negr, 0x0311);
    le16(negr, 0);
    for (int i = 0; i < 16; ++i) negr.push_back(uint8_t(i));
    le32(negr, 0);               // Capabilities
    for (int i = 0; i < 3; ++i)  // MaxTransactSize, MaxReadSize, MaxWriteSize
      le32(negr, 8 << 20);
    le64(negr, 0);  // SystemTime
    le64(negr, 0);  // ServerStartTime
    le16(negr, 0);  // SecurityBufferOffset
    le16(negr, 0);  // SecurityBufferLength
    le32(negr, 0);  // NegotiateContextOffset
    h.server(negr, bytewise);
    EXPECT_EQ(h.session->parser().dialect(), "3.11");
    // SESSION_SETUP with NTLMSSP AUTHENTICATE
    Bytes ss = header(1, 1, false, 0, 0);
    le16(ss, 25);
    ss.push_back(0);
    ss.push_back(1);
    le32(ss, 0);
    le32(ss, 0);
    Bytes blob = ntlm_authenticate("alice", "CORP", "WS01");
    le16(ss, 88);
    le16(ss, uint16_t(blob.size()));
    le64(ss, 0);
    ss.insert(ss.end(), blob.begin(), blob.end());
    h.client(ss, bytewise);
    Bytes ssr = header(1, 1, true);
    le16(ssr, 9);
    le16(ssr, 0);
    le16(ssr, 0);
    le16(ssr, 0);
    h.server(ssr, bytewise);
    h.tree_connect("\\\\srv\\share", 1);
    h.client(create_request(11, "dir\\report.docx", 1), bytewise);
    h.server(create_response(11, kFid, 11), bytewise);
    h.client(read_request(12, kFid, 0, 11), bytewise);
    h.server(read_response(12, "hello world"), bytewise);
    h.client(close_request(13, kFid), bytewise);
    h.server(simple_response(6, 13), bytewise);
    EXPECT_EQ(h.session->parser().open_files(), 0u);

    auto eve = h.sink.of("smb");
    ASSERT_EQ(eve.size(), 6u);
    EXPECT_NE(eve[0]->eve.find("\"client_dialects\":[\"2.02\",\"2.10\",\"3.11\"]"),
              std::string::npos)
        << eve[0]->eve;
    EXPECT_NE(eve[0]->eve.find("\"dialect\":\"3.11\""), std::string::npos);
    EXPECT_NE(eve[1]->eve.find("\"ntlmssp\":{\"domain\":\"CORP\",\"user\":\"alice\",\"host\":"
                               "\"WS01\",\"version\":\"10.0 build 19041\"}"),
              std::string::npos)
        << eve[1]->eve;
    EXPECT_NE(eve[2]->eve.find("\"share\":\"\\\\\\\\srv\\\\share\""), std::string::npos)
        << eve[2]->eve;
    EXPECT_NE(eve[2]->eve.find("\"share_type\":\"FILE\""), std::string::npos);
    EXPECT_NE(eve[3]->eve.find("\"command\":\"SMB2_COMMAND_CREATE\""), std::string::npos);
    EXPECT_NE(eve[3]->eve.find("\"filename\":\"dir\\\\report.docx\""), std::string::npos)
        << eve[3]->eve;
    EXPECT_NE(eve[3]->eve.find("\"disposition\":\"FILE_OPEN\""), std::string::npos);
    EXPECT_NE(eve[3]->eve.find("\"status\":\"STATUS_SUCCESS\""), std::string::npos);
    EXPECT_NE(eve[3]->eve.find("\"size\":11"), std::string::npos);
    EXPECT_NE(eve[4]->eve.find("\"length\":11"), std::string::npos) << eve[4]->eve;

    auto mapping = h.sink.of("smb_mapping");
    ASSERT_EQ(mapping.size(), 1u);
    EXPECT_EQ(mapping[0]->get("path"), "\\\\srv\\share");
    EXPECT_EQ(mapping[0]->get("share_type"), "DISK");

    auto files = h.sink.of("smb_files");
    ASSERT_EQ(files.size(), 3u);
    EXPECT_EQ(files[0]->get("action"), "SMB::FILE_OPEN");
    EXPECT_EQ(files[0]->get("name"), "dir\\report.docx");
    EXPECT_EQ(files[0]->get("path"), "\\\\srv\\share");
    EXPECT_EQ(files[0]->get("size"), "11");
    EXPECT_EQ(files[0]->get("times.created"), "1555526400.000000");
    EXPECT_EQ(files[1]->get("action"), "SMB::FILE_READ");
    EXPECT_EQ(files[1]->get("fuid"), "-");
    EXPECT_EQ(files[2]->get("action"), "SMB::FILE_READ");

    auto info = h.sink.of("fileinfo");
    ASSERT_EQ(info.size(), 1u);
    EXPECT_EQ(info[0]->get("fuid"), files[2]->get("fuid"));
    EXPECT_EQ(info[0]->get("md5"), "5eb63bbbe01eeed093cb22bb8f5acdc3");
    EXPECT_EQ(info[0]->get("source"), "SMB");
    EXPECT_EQ(info[0]->get("filename"), "dir\\report.docx");
    EXPECT_EQ(info[0]->get("is_orig"), "F");
    EXPECT_EQ(info[0]->get("total_bytes"), "11");
    EXPECT_NE(info[0]->eve.find("CLOSED"), std::string::npos);
    EXPECT_EQ(h.session->anomalies().total(), 0u);
  }
}

TEST(Smb, CompoundedRelatedCreateReadClose) {
  Harness h;
  h.tree_connect("\\\\srv\\c$", 1);
  const uint32_t kRelated = 4;
  const FileId sentinel{~0ull, ~0ull};
  h.client(compound({create_request(20, "a.txt"), read_request(21, sentinel, 0, 4, kRelated),
                     close_request(22, sentinel, kRelated)}));
  h.server(compound({create_response(20, kFid, 4), read_response(21, "abcd", kRelated),
                     simple_response(6, 22, kRelated)}));
  EXPECT_EQ(h.session->parser().open_files(), 0u);
  auto info = h.sink.of("fileinfo");
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0]->get("seen_bytes"), "4");
  EXPECT_EQ(info[0]->get("md5"), "e2fc714c4727ee9395f324cd2e7f331f");
  EXPECT_EQ(h.sink.of("smb").size(), 4u);
}

TEST(Smb, WriteRenameDelete) {
  SmbLimits limits;
  Harness h(limits);
  h.tree_connect("\\\\srv\\data", 1);
  h.client(create_request(30, "old.txt", 2));
  h.server(create_response(30, kFid, 0));
  h.client(write_request(31, kFid, 0, "PK\x03\x04zipdata"));
  h.server(simple_response(9, 31));
  Bytes rename = {0};
  rename.resize(16);
  Bytes name = utf16("new.txt");
  le32(rename, uint32_t(name.size()));
  rename.insert(rename.end(), name.begin(), name.end());
  h.client(set_info_request(32, kFid, 10, rename));
  h.server(simple_response(17, 32));
  h.client(set_info_request(33, kFid, 13, Bytes{1}));
  h.server(simple_response(17, 33));
  h.client(close_request(34, kFid));
  h.server(simple_response(6, 34));
  auto files = h.sink.of("smb_files");
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[1]->get("action"), "SMB::FILE_RENAME");
  EXPECT_EQ(files[1]->get("name"), "new.txt");
  EXPECT_EQ(files[1]->get("prev_name"), "old.txt");
  EXPECT_EQ(files[2]->get("action"), "SMB::FILE_DELETE");
  auto info = h.sink.of("fileinfo");
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0]->get("is_orig"), "T");
  EXPECT_EQ(info[0]->get("mime_type"), "application/zip");
  EXPECT_EQ(info[0]->get("filename"), "old.txt");  // the name when its data was seen
  auto eve = h.sink.of("smb");
  bool saw_rename = false;
  for (auto* e : eve)
    saw_rename |=
        e->eve.find("\"rename\":{\"from\":\"old.txt\",\"to\":\"new.txt\"}") != std::string::npos;
  EXPECT_TRUE(saw_rename);
}

TEST(Smb, ThousandsOfFilesStayBounded) {
  SmbLimits limits;
  limits.max_open_files = 100;
  limits.eve_commands = false;
  Harness h(limits);
  h.tree_connect("\\\\srv\\share", 1);
  for (uint64_t i = 0; i < 5000; ++i) {
    FileId fid{i, i};
    h.client(create_request(100 + 3 * i, "f" + std::to_string(i)));
    h.server(create_response(100 + 3 * i, fid, 3));
    h.client(read_request(101 + 3 * i, fid, 0, 3));
    h.server(read_response(101 + 3 * i, "abc"));
    h.client(close_request(102 + 3 * i, fid));
    h.server(simple_response(6, 102 + 3 * i));
    ASSERT_EQ(h.session->parser().open_files(), 0u);
  }
  EXPECT_EQ(h.sink.of("fileinfo").size(), 5000u);
  // Opens without closes: capped, evicted and counted.
  for (uint64_t i = 0; i < 300; ++i) {
    h.client(create_request(90000 + i, "leak"));
    h.server(create_response(90000 + i, FileId{1000000 + i, 1}, 0));
  }
  EXPECT_LE(h.session->parser().open_files(), 100u);
  EXPECT_EQ(h.session->anomalies().count("smb_too_many_open_files"), 200u);
  EXPECT_EQ(h.session->parser().pending_requests(), 0u);
}

TEST(Smb, EncryptedSmb3IsRecorded) {
  Harness h;
  Bytes t = {0xFD, 'S', 'M', 'B'};
  t.resize(4 + 16 + 16 + 4 + 2 + 2);
  le64(t, 0x4242);
  t.resize(t.size() + 100, 0xAA);
  h.client(t);
  h.server(t);
  auto eve = h.sink.of("smb");
  ASSERT_EQ(eve.size(), 1u);
  EXPECT_NE(eve[0]->eve.find("\"encrypted\":true"), std::string::npos) << eve[0]->eve;
  EXPECT_NE(eve[0]->eve.find("\"session_id\":16962"), std::string::npos);
  EXPECT_EQ(h.session->parser().encrypted_pdus(), 2u);
}

TEST(Smb, Smb1IsRecognised) {
  Harness h;
  Bytes req = {0xFF, 'S', 'M', 'B', 0x72};
  req.resize(32);
  req.push_back(0);  // word count
  std::string dialects = std::string("\x02PC NETWORK PROGRAM 1.0\0\x02NT LM 0.12\0", 36);
  le16(req, uint16_t(dialects.size()));
  req.insert(req.end(), dialects.begin(), dialects.end());
  h.client(req);
  Bytes resp = {0xFF, 'S', 'M', 'B', 0x72};
  resp.resize(32);
  resp[9] = 0x80;
  resp.push_back(1);
  le16(resp, 1);
  le16(resp, 0);
  h.server(resp);
  auto eve = h.sink.of("smb");
  ASSERT_EQ(eve.size(), 1u);
  EXPECT_NE(eve[0]->eve.find("\"dialect\":\"NT LM 0.12\""), std::string::npos) << eve[0]->eve;
  EXPECT_NE(eve[0]->eve.find("SMB1_COMMAND_NEGOTIATE_PROTOCOL"), std::string::npos);
  EXPECT_EQ(h.session->parser().smb1_pdus(), 2u);
}

// An SMB1 header (Unicode strings); words and bytes follow.
Bytes smb1_header(uint8_t cmd, uint16_t mid, bool reply, uint16_t tid = 1, uint32_t status = 0) {
  Bytes b = {0xFF, 'S', 'M', 'B', cmd};
  le32(b, status);
  b.push_back(reply ? 0x98 : 0x18);
  le16(b, 0xC807);  // Unicode, NT status, extended security
  b.resize(24);
  le16(b, tid);
  le16(b, 0xFEFF);  // PID
  le16(b, 0x0800);  // UID
  le16(b, mid);
  return b;
}

TEST(Smb, Smb1TreeCreateWriteReadClose) {
  Harness h;
  // TREE_CONNECT_ANDX \\SRV\C$ answered as a disk share, then \\SRV\IPC$ answered as IPC.
  auto tree_connect = [&](uint16_t mid, uint16_t tid, std::string_view path,
                          std::string_view service) {
    Bytes req = smb1_header(0x75, mid, false, 0);
    req.push_back(4);
    req.insert(req.end(), {0xFF, 0, 0, 0});
    le16(req, 0x0008);
    le16(req, 1);
    Bytes p = utf16(path);
    le16(req, uint16_t(1 + p.size() + 2 + 6));
    req.push_back(0);  // password: the path then starts at an even offset (44)
    req.insert(req.end(), p.begin(), p.end());
    le16(req, 0);
    req.insert(req.end(), {'?', '?', '?', '?', '?', 0});
    h.client(req);
    Bytes resp = smb1_header(0x75, mid, true, tid);
    resp.push_back(3);
    resp.insert(resp.end(), {0xFF, 0, 0, 0});
    le16(resp, 1);
    le16(resp, uint16_t(service.size() + 1 + 10));
    resp.insert(resp.end(), service.begin(), service.end());
    resp.push_back(0);
    Bytes fs = utf16("NTFS");
    resp.insert(resp.end(), fs.begin(), fs.end());
    le16(resp, 0);
    h.server(resp);
  };
  tree_connect(1, 7, "\\\\SRV\\C$", "A:");
  tree_connect(2, 8, "\\\\SRV\\IPC$", "IPC");
  // NT_CREATE_ANDX \eicar.txt on tree 7 → FID 0x4001.
  Bytes cr = smb1_header(0xA2, 3, false, 7);
  cr.push_back(24);
  cr.insert(cr.end(), {0xFF, 0, 0, 0, 0});
  Bytes name = utf16("\\eicar.txt");
  le16(cr, uint16_t(name.size()));
  for (int i = 0; i < 10; ++i) le32(cr, 0);  // flags .. impersonation (alloc = 2 words)
  cr.push_back(0);
  ASSERT_EQ(cr.size(), 33u + 48u);
  le16(cr, uint16_t(1 + name.size()));
  cr.push_back(0);  // pad: the name starts at an even offset
  cr.insert(cr.end(), name.begin(), name.end());
  h.client(cr);
  Bytes crr = smb1_header(0xA2, 3, true, 7);
  crr.push_back(34);
  crr.insert(crr.end(), {0xFF, 0, 0, 0, 0});
  le16(crr, 0x4001);
  le32(crr, 2);
  for (int i = 0; i < 4; ++i) le64(crr, 132000000000000000ull);
  le32(crr, 0x20);
  le64(crr, 0);
  le64(crr, 68);
  le16(crr, 0);
  le16(crr, 0);
  crr.push_back(0);
  le16(crr, 0);
  h.server(crr);
  // WRITE_ANDX with two bytes of padding before the data (DataOffset says where it is).
  const std::string eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
  Bytes wr = smb1_header(0x2F, 4, false, 7);
  wr.push_back(14);
  wr.insert(wr.end(), {0xFF, 0, 0, 0});
  le16(wr, 0x4001);
  le32(wr, 0);  // offset
  le32(wr, 0);  // timeout
  le16(wr, 0);
  le16(wr, 0);
  le16(wr, 0);                              // DataLengthHigh
  le16(wr, uint16_t(eicar.size()));         // DataLength
  le16(wr, uint16_t(32 + 1 + 28 + 2 + 2));  // DataOffset: after ByteCount and 2 pad bytes
  le32(wr, 0);                              // OffsetHigh
  le16(wr, uint16_t(2 + eicar.size()));
  wr.push_back(0xEE);
  wr.push_back(0xEE);
  wr.insert(wr.end(), eicar.begin(), eicar.end());
  h.client(wr);
  Bytes wrr = smb1_header(0x2F, 4, true, 7);
  wrr.push_back(6);
  wrr.insert(wrr.end(), {0xFF, 0, 0, 0});
  le16(wrr, uint16_t(eicar.size()));
  wrr.resize(wrr.size() + 6);
  le16(wrr, 0);
  h.server(wrr);
  Bytes cl = smb1_header(0x04, 5, false, 7);
  cl.push_back(3);
  le16(cl, 0x4001);
  le32(cl, 0);
  le16(cl, 0);
  h.client(cl);
  Bytes clr = smb1_header(0x04, 5, true, 7);
  clr.push_back(0);
  le16(clr, 0);
  h.server(clr);

  auto maps = h.sink.of("smb_mapping");
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[0]->get("path"), "\\\\SRV\\C$");
  EXPECT_EQ(maps[0]->get("share_type"), "DISK");
  EXPECT_EQ(maps[1]->get("service"), "IPC");
  EXPECT_EQ(maps[1]->get("share_type"), "PIPE");
  auto eve = h.sink.of("smb");
  ASSERT_EQ(eve.size(), 5u);
  EXPECT_NE(eve[0]->eve.find("\"share\":\"\\\\\\\\SRV\\\\C$\""), std::string::npos) << eve[0]->eve;
  EXPECT_NE(eve[1]->eve.find("\"share_type\":\"PIPE\""), std::string::npos) << eve[1]->eve;
  EXPECT_NE(eve[2]->eve.find("eicar.txt"), std::string::npos) << eve[2]->eve;
  auto info = h.sink.of("fileinfo");
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0]->get("seen_bytes"), "68");
  EXPECT_EQ(info[0]->get("filename"), "\\eicar.txt");
  EXPECT_EQ(info[0]->get("md5"), "44d88612fea8a8f36de82e1278abb02f");
  EXPECT_EQ(h.session->anomalies().total(), 0u);
}

TEST(Smb, Smb1HostileAndXChainEnds) {
  Harness h;
  // WRITE_ANDX whose AndX offset points back at itself, and one pointing past the end.
  for (uint16_t back : {uint16_t(32), uint16_t(60000)}) {
    Bytes wr = smb1_header(0x2F, 9, false, 7);
    wr.push_back(12);
    wr.insert(wr.end(), {0x2F, 0});
    le16(wr, back);
    wr.resize(wr.size() + 20, 0);
    le16(wr, 0);
    h.client(wr);
  }
  EXPECT_EQ(h.session->anomalies().count("smb1_bad_andx_offset"), 2u);
}

TEST(Smb, LargeReadIsStreamedAndGapsResync) {
  SmbLimits limits;
  limits.max_pdu_buffer = 8192;
  Harness h(limits);
  h.tree_connect("\\\\srv\\share", 1);
  h.client(create_request(40, "big.bin"));
  h.server(create_response(40, kFid, 100000));
  h.client(read_request(41, kFid, 0, 100000));
  std::string data(100000, 'z');
  h.server(read_response(41, data));
  h.client(close_request(42, kFid));
  h.server(simple_response(6, 42));
  auto info = h.sink.of("fileinfo");
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0]->get("seen_bytes"), "100000");
  EXPECT_NE(info[0]->eve.find("CLOSED"), std::string::npos);
  EXPECT_EQ(h.session->anomalies().total(), 0u);
  // A gap that loses the framing: the parser finds the next PDU and carries on.
  h.session->on_gap(Direction::kToServer, 5000, 10);
  Bytes junk(37, 0x41);
  h.session->on_data(Direction::kToServer, junk, 11);
  h.client(create_request(43, "after.txt"));
  h.server(create_response(43, FileId{5, 5}, 1));
  EXPECT_EQ(h.sink.of("smb_files").back()->get("name"), "after.txt");
  EXPECT_EQ(h.session->anomalies().count("content_gap"), 1u);
}

TEST(Smb, MalformedIsCountedNeverFatal) {
  Harness h;
  h.client(Bytes{0xFE, 'S', 'M', 'B', 1, 2, 3});
  h.session->on_data(Direction::kToServer, Bytes{0x99, 0, 0, 1, 0}, 5);
  Bytes bad = header(5, 1, false);
  bad.resize(70);
  h.client(bad);
  Bytes chain = header(5, 2, false);
  uint32_t next = 30;
  memcpy(&chain[20], &next, 4);
  h.client(chain);
  EXPECT_GE(h.session->anomalies().count("smb2_bad_header"), 1u);
  EXPECT_EQ(h.session->anomalies().count("smb_bad_netbios_header"), 1u);
  EXPECT_EQ(h.session->anomalies().count("smb2_bad_next_command"), 1u);
  h.session->on_close(100);
}

TEST(Smb, Utf16) {
  Bytes b = {'a', 0, 0x3D, 0xD8, 0x00, 0xDE, 0x00, 0xD8, 'b', 0, 0xE9, 0x00};
  EXPECT_EQ(utf16le_to_utf8(b),
            "a\xF0\x9F\x98\x80\xEF\xBF\xBD"
            "b\xC3\xA9");
  EXPECT_EQ(utf16le_to_utf8(Bytes{'x'}), "");
}

TEST(Smb, Probe) {
  Bytes smb2 = {0, 0, 0, 64, 0xFE, 'S', 'M', 'B'};
  EXPECT_EQ(probe_smb(smb2, Direction::kToServer, 445), ProbeResult::kYes);
  EXPECT_EQ(probe_smb({smb2.data(), 5}, Direction::kToServer, 445), ProbeResult::kMaybe);
  Bytes http = {'G', 'E', 'T', ' '};
  EXPECT_EQ(probe_smb(http, Direction::kToServer, 445), ProbeResult::kNo);
  EXPECT_NE(Registry<AnalyzerApi>::find("smb"), nullptr);
}

// --- SMB 3.1.1 compression (MS-SMB2 2.2.3.1.3, 2.2.42) -------------------------------

// Keeps the typed SMB records a detector reads (fields EVE does not show).
struct TypedSink : EventSink {
  std::vector<SmbRecord> smb;
  std::vector<SmbCompressionRecord> compression;
  std::vector<std::string> anomalies;
  void publish(const Record& r) override {
    if (auto* s = dynamic_cast<const SmbRecord*>(&r)) smb.push_back(*s);
    if (auto* c = dynamic_cast<const SmbCompressionRecord*>(&r)) compression.push_back(*c);
    if (auto* a = dynamic_cast<const AnomalyRecord*>(&r)) anomalies.emplace_back(a->name);
  }
};

// A negotiate context, padded to 8 bytes.
void context(Bytes& b, uint16_t type, const Bytes& data) {
  while (b.size() % 8) b.push_back(0);
  le16(b, type);
  le16(b, uint16_t(data.size()));
  le32(b, 0);
  b.insert(b.end(), data.begin(), data.end());
}

Bytes compression_caps(std::vector<uint16_t> algorithms, uint32_t flags = 0) {
  Bytes d;
  le16(d, uint16_t(algorithms.size()));
  le16(d, 0);
  le32(d, flags);
  for (uint16_t a : algorithms) le16(d, a);
  return d;
}

// The negotiate contexts at the next 8-byte boundary (their offset written at `ctx_off_at`):
// preauth integrity, then compression capabilities when `algorithms` is not empty.
void append_contexts(Bytes& b, size_t ctx_off_at, const std::vector<uint16_t>& algorithms) {
  while (b.size() % 8) b.push_back(0);
  uint32_t off = uint32_t(b.size());
  memcpy(&b[ctx_off_at], &off, 4);
  Bytes preauth(38, 0);
  preauth[0] = 1, preauth[2] = 32, preauth[4] = 1;
  context(b, 1, preauth);
  if (!algorithms.empty()) context(b, 3, compression_caps(algorithms));
}

// An SMB 3.1.1 NEGOTIATE request with a preauth context and, if any, the compression
// algorithms; a zero ClientGuid when asked (what SMBGhost scanners send).
Bytes negotiate_311(std::vector<uint16_t> algorithms, bool zero_guid = false) {
  Bytes b = header(0, 0, false, 0, 0, 0);
  le16(b, 36);
  le16(b, 2);
  le16(b, 1);
  le16(b, 0);
  le32(b, 0x7f);
  for (int i = 0; i < 16; ++i) b.push_back(zero_guid ? 0 : uint8_t(0x10 + i));
  size_t ctx_off_at = b.size();
  le32(b, 0);  // NegotiateContextOffset, set below
  le16(b, algorithms.empty() ? 1 : 2);
  le16(b, 0);
  le16(b, 0x0300);
  le16(b, 0x0311);
  append_contexts(b, ctx_off_at, algorithms);
  return b;
}

Bytes negotiate_311_response(std::vector<uint16_t> algorithms, uint32_t max_size = 8 << 20) {
  Bytes b = header(0, 0, true, 0, 0, 0);
  le16(b, 65);
  le16(b, 1);
  le16(b, 0x0311);
  le16(b, algorithms.empty() ? 1 : 2);
  for (int i = 0; i < 16; ++i) b.push_back(uint8_t(i));
  le32(b, 0x2f);
  le32(b, max_size);
  le32(b, max_size);
  le32(b, max_size);
  le64(b, 0);
  le64(b, 0);
  le16(b, 0);
  le16(b, 0);
  size_t ctx_off_at = b.size();
  le32(b, 0);
  append_contexts(b, ctx_off_at, algorithms);
  return b;
}

// SMB2_COMPRESSION_TRANSFORM_HEADER_UNCHAINED followed by `body` bytes.
Bytes compressed_unchained(uint32_t original, uint16_t algorithm, uint32_t offset, size_t body) {
  Bytes b = {0xFC, 'S', 'M', 'B'};
  le32(b, original);
  le16(b, algorithm);
  le16(b, 0);
  le32(b, offset);
  for (size_t i = 0; i < body; ++i) b.push_back(uint8_t(i * 7));
  return b;
}

struct CompressionHarness {
  explicit CompressionHarness(std::vector<uint16_t> offered = {1, 2},
                              std::vector<uint16_t> accepted = {1}) {
    flow.uid = "CComp";
    session = std::make_unique<SmbSession>(SessionContext{&sink, &flow});
    send(Direction::kToServer, negotiate_311(offered));
    send(Direction::kToClient, negotiate_311_response(accepted));
  }
  void send(Direction d, const Bytes& pdu, bool bytewise = false) {
    Bytes b = nbss(pdu);
    if (!bytewise) {
      session->on_data(d, b, ++ts);
      return;
    }
    for (uint8_t c : b) session->on_data(d, {&c, 1}, ++ts);
  }
  uint64_t count(const char* name) const { return session->anomalies().count(name); }
  FlowContext flow;
  TypedSink sink;
  std::unique_ptr<SmbSession> session;
  TimeNs ts = 1000;
};

TEST(SmbCompression, NegotiateRecordsTheCompressionContexts) {
  CompressionHarness h({2, 3, 1}, {1});
  ASSERT_EQ(h.sink.smb.size(), 1u);
  const SmbRecord& r = h.sink.smb[0];
  EXPECT_EQ(r.dialect, "3.11");
  EXPECT_EQ(r.compression_offered, (std::vector<std::string>{"LZ77", "LZ77+Huffman", "LZNT1"}));
  EXPECT_EQ(r.compression_accepted, (std::vector<std::string>{"LZNT1"}));
  EXPECT_FALSE(r.client_guid_zero);
  EXPECT_EQ(h.session->anomalies().total(), 0u);
  // EVE stays Suricata's smb object.
  std::string eve;
  JsonWriter w(eve);
  w.begin_object();
  r.write_eve(w);
  w.end_object();
  EXPECT_EQ(eve.find("compression"), std::string::npos) << eve;

  // No compression context offered (a pre-1903 client): nothing recorded.
  CompressionHarness none({}, {});
  ASSERT_EQ(none.sink.smb.size(), 1u);
  EXPECT_TRUE(none.sink.smb[0].compression_offered.empty());
  EXPECT_TRUE(none.sink.smb[0].compression_accepted.empty());
}

TEST(SmbCompression, SmbGhostSizeOverflow) {
  for (bool bytewise : {false, true}) {
    CompressionHarness h;
    // The public exploit: OriginalCompressedSegmentSize 0xFFFFFFFF, Offset 16: the 32-bit sum
    // srv2.sys allocated with wraps to 15.
    h.send(Direction::kToServer, compressed_unchained(0xffffffffu, 1, 16, 35), bytewise);
    EXPECT_EQ(h.count("smb3_compression_size_overflow"), 1u);
    EXPECT_EQ(h.count("smb3_compression_size_too_large"), 1u);
    EXPECT_EQ(h.count("smb_compressed_pdu_unsupported"), 0u);
    ASSERT_EQ(h.sink.compression.size(), 1u);
    const SmbCompressionRecord& c = h.sink.compression[0];
    EXPECT_EQ(c.anomaly, "smb3_compression_size_overflow");
    EXPECT_EQ(c.original_size, 0xffffffffu);
    EXPECT_EQ(c.offset, 16u);
    EXPECT_EQ(c.algorithm, 1);
    EXPECT_EQ(c.flags, 0);
    EXPECT_EQ(c.pdu_length, 51u);
    EXPECT_FALSE(c.to_client);
    EXPECT_TRUE(c.negotiated);
    EXPECT_EQ(c.max_read, 8u << 20);
    EXPECT_EQ(c.size_limit, (8u << 20) + 272u);
    EXPECT_EQ(c.compression_accepted, (std::vector<std::string>{"LZNT1"}));
    EXPECT_EQ(h.session->parser().compressed_pdus(), 1u);
    // Published once per name and flow, with the header as read.
    ASSERT_FALSE(h.sink.anomalies.empty());
    EXPECT_EQ(h.sink.anomalies[0], "smb3_compression_size_overflow");
  }
}

TEST(SmbCompression, ValidMessagesAreNotMalformed) {
  CompressionHarness h;
  // Whole message compressed (Offset 0), and a READ response whose header stays clear (64
  // bytes before the compressed data), both within the negotiated 8 MiB.
  h.send(Direction::kToServer, compressed_unchained(4096, 1, 0, 300));
  h.send(Direction::kToClient, compressed_unchained(1 << 20, 1, 64, 5000));
  h.send(Direction::kToClient, compressed_unchained((8u << 20) + 272, 1, 80, 200));
  // Chained (2.2.42.2): NONE payload (the clear header), then LZNT1 with OriginalPayloadSize.
  Bytes chained = {0xFC, 'S', 'M', 'B'};
  le32(chained, 64 + 65536);
  le16(chained, 0);  // NONE
  le16(chained, 1);  // SMB2_COMPRESSION_FLAG_CHAINED
  le32(chained, 64);
  chained.resize(chained.size() + 64, 0xFE);
  le16(chained, 1);  // LZNT1
  le16(chained, 0);
  le32(chained, 4 + 100);
  le32(chained, 65536);
  chained.resize(chained.size() + 100, 0x11);
  h.send(Direction::kToServer, chained);
  EXPECT_TRUE(h.sink.compression.empty());
  EXPECT_EQ(h.count("smb_compressed_pdu_unsupported"), 4u);
  EXPECT_EQ(h.session->anomalies().total(), 4u);
  EXPECT_EQ(h.session->parser().compressed_pdus(), 4u);
}

TEST(SmbCompression, MalformedHeadersAreNamed) {
  {
    CompressionHarness h;  // limits: 8 MiB
    h.send(Direction::kToServer, compressed_unchained((8u << 20) + 273, 1, 0, 100));
    EXPECT_EQ(h.count("smb3_compression_size_too_large"), 1u);
    EXPECT_EQ(h.count("smb3_compression_size_overflow"), 0u);
    ASSERT_EQ(h.sink.compression.size(), 1u);
    EXPECT_EQ(h.sink.compression[0].anomaly, "smb3_compression_size_too_large");
  }
  {
    CompressionHarness h;
    h.send(Direction::kToClient, compressed_unchained(4096, 1, 200, 100));  // past the end
    EXPECT_EQ(h.count("smb3_bad_compression_offset"), 1u);
    ASSERT_EQ(h.sink.compression.size(), 1u);
    EXPECT_TRUE(h.sink.compression[0].to_client);
  }
  {
    CompressionHarness h({1}, {});  // the server chose no compression
    h.send(Direction::kToServer, compressed_unchained(4096, 1, 0, 100));
    EXPECT_EQ(h.count("smb3_compression_not_negotiated"), 1u);
    CompressionHarness other({1, 2}, {1});  // an algorithm the server did not choose
    other.send(Direction::kToServer, compressed_unchained(4096, 2, 0, 100));
    EXPECT_EQ(other.count("smb3_compression_not_negotiated"), 1u);
  }
  {
    CompressionHarness h;
    Bytes bad = compressed_unchained(4096, 1, 0, 100);
    bad[10] = 7;  // Flags neither NONE nor CHAINED
    h.send(Direction::kToServer, bad);
    EXPECT_EQ(h.count("smb3_bad_compression_header"), 1u);
    h.send(Direction::kToServer, compressed_unchained(4096, 0, 0, 100));  // NONE, unchained
    EXPECT_EQ(h.count("smb3_bad_compression_header"), 2u);
  }
  {
    CompressionHarness h;
    Bytes chained = {0xFC, 'S', 'M', 'B'};
    le32(chained, 4096);
    le16(chained, 1);
    le16(chained, 1);
    le32(chained, 5000);  // longer than the message
    chained.resize(chained.size() + 40, 0);
    h.send(Direction::kToServer, chained);
    EXPECT_EQ(h.count("smb3_bad_compression_payload"), 1u);
  }
  {
    // No NEGOTIATE seen (capture started later): sizes are not judged, the overflow still is.
    FlowContext flow;
    TypedSink sink;
    SmbSession s(SessionContext{&sink, &flow});
    Bytes big = nbss(compressed_unchained(0x7fffffff, 1, 0, 64));
    s.on_data(Direction::kToServer, big, 1);
    EXPECT_EQ(s.anomalies().count("smb_compressed_pdu_unsupported"), 1u);
    Bytes wrap = nbss(compressed_unchained(0xfffffff0u, 1, 0x20, 64));
    s.on_data(Direction::kToServer, wrap, 2);
    EXPECT_EQ(s.anomalies().count("smb3_compression_size_overflow"), 1u);
    ASSERT_EQ(sink.compression.size(), 1u);
    EXPECT_FALSE(sink.compression[0].negotiated);
    EXPECT_EQ(sink.compression[0].size_limit, 0u);
  }
}

TEST(SmbCompression, Truncation) {
  CompressionHarness h;
  // Shorter than the 16-byte header, at every length.
  for (size_t n = 4; n < 16; ++n) {
    Bytes pdu = compressed_unchained(0xffffffffu, 1, 16, 0);
    pdu.resize(n);
    h.send(Direction::kToServer, pdu);
  }
  EXPECT_EQ(h.count("smb3_bad_compression_header"), 12u);
  EXPECT_TRUE(h.sink.compression.empty());
  // A chain cut inside a payload header.
  Bytes chained = {0xFC, 'S', 'M', 'B'};
  le32(chained, 4096);
  le16(chained, 0);
  le16(chained, 1);
  le32(chained, 8);
  chained.resize(chained.size() + 8, 0);
  le16(chained, 1);
  le16(chained, 0);  // cut: no Length
  h.send(Direction::kToServer, chained);
  EXPECT_EQ(h.count("smb3_bad_compression_payload"), 1u);
  // A negotiate context running past the message.
  Bytes neg = negotiate_311({1});
  neg.resize(neg.size() - 4);
  CompressionHarness g;
  g.send(Direction::kToServer, neg);
  EXPECT_EQ(g.count("smb2_bad_negotiate_context"), 1u);
  // Fewer contexts than NegotiateContextCount says.
  Bytes few = negotiate_311({1});
  few[64 + 32] = 5;
  CompressionHarness k;
  k.send(Direction::kToServer, few);
  EXPECT_EQ(k.count("smb2_bad_negotiate_context"), 1u);
  // A NEGOTIATE response cut after the ServerGuid: no limits to judge sizes by.
  Bytes resp = negotiate_311_response({1});
  resp.resize(64 + 24);
  CompressionHarness r({1}, {1});
  r.send(Direction::kToClient, resp);
  EXPECT_EQ(r.count("smb2_truncated_response"), 1u);
}

TEST(SmbCompression, OversizedMessageHeadIsChecked) {
  // Larger than the PDU buffer: only its head is kept, and the header is judged on it with
  // the message's real length.
  SmbLimits limits;
  limits.max_pdu_buffer = 4096;
  FlowContext flow;
  TypedSink sink;
  SmbSession s(SessionContext{&sink, &flow}, limits);
  Bytes pdu = nbss(compressed_unchained(0xffffff00u, 1, 0x1000, 20000));
  s.on_data(Direction::kToServer, pdu, 1);
  EXPECT_EQ(s.anomalies().count("smb3_compression_size_overflow"), 1u);
  EXPECT_EQ(s.anomalies().count("smb_pdu_too_large"), 0u);
  ASSERT_EQ(sink.compression.size(), 1u);
  EXPECT_EQ(sink.compression[0].pdu_length, 20016u);
}

TEST(SmbCompression, CorpusSmbGhostCaptures) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(KOMAINU_SHARED_DIR) / "corpus/pcap/smb-lateral-movement";
  const fs::path exploit = dir / "CVE-2020-0796_SMBGhost_PrivEsc_Loopback_traffic.pcapng";
  const fs::path scanner = dir / "SMBGhost.pcap";
  if (!fs::exists(exploit) || !fs::exists(scanner)) GTEST_SKIP() << "corpus not found at " << dir;
  auto replay = [](const fs::path& pcap, TypedSink& sink, AnomalyReporter const** anomalies,
                   std::unique_ptr<SmbSession>& keep, FlowContext& flow) {
    auto conns = testing::read_tcp_streams(pcap.string());
    ASSERT_EQ(conns.size(), 1u);
    keep = std::make_unique<SmbSession>(SessionContext{&sink, &flow});
    for (const auto& ch : conns[0].chunks)
      keep->on_data(ch.dir == 0 ? Direction::kToServer : Direction::kToClient, ch.bytes, ch.ts_ns);
    *anomalies = &keep->anomalies();
  };
  {
    TypedSink sink;
    FlowContext flow;
    std::unique_ptr<SmbSession> s;
    const AnomalyReporter* a = nullptr;
    replay(exploit, sink, &a, s, flow);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->count("smb3_compression_size_overflow"), 1u);
    ASSERT_EQ(sink.compression.size(), 1u);
    EXPECT_EQ(sink.compression[0].original_size, 0xffffffffu);
    EXPECT_EQ(sink.compression[0].offset, 16u);
    ASSERT_FALSE(sink.smb.empty());
    EXPECT_FALSE(sink.smb[0].compression_offered.empty());
  }
  {
    TypedSink sink;
    FlowContext flow;
    std::unique_ptr<SmbSession> s;
    const AnomalyReporter* a = nullptr;
    replay(scanner, sink, &a, s, flow);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->total(), 0u);
    ASSERT_EQ(sink.smb.size(), 1u);  // the NEGOTIATE, nothing after it
    EXPECT_EQ(sink.smb[0].compression_offered, (std::vector<std::string>{"LZNT1"}));
    EXPECT_EQ(sink.smb[0].compression_accepted, (std::vector<std::string>{"LZNT1"}));
    EXPECT_TRUE(sink.smb[0].client_guid_zero);
  }
}

// --- real payloads against Zeek baselines ----------------------------------------------

struct LogParity {
  size_t rows = 0, identical = 0;
  std::vector<std::string> diffs;
};

void compare(const testing::ZeekBaseline& base, const std::vector<testing::CapturedRecord>& mine,
             const std::vector<std::string>& fields, const std::vector<std::string>& key,
             LogParity& out) {
  std::vector<bool> used(mine.size(), false);
  for (size_t i = 0; i < base.rows.size(); ++i) {
    ++out.rows;
    const testing::CapturedRecord* match = nullptr;
    for (size_t k = 0; k < mine.size() && !match; ++k) {
      if (used[k]) continue;
      bool same_key = true;
      for (const auto& f : key)
        same_key &= mine[k].get(f) == testing::zeek_unescape(base.get(i, f));
      if (same_key) {
        match = &mine[k];
        used[k] = true;
      }
    }
    if (!match) {
      out.diffs.push_back("row " + std::to_string(i) + " missing");
      continue;
    }
    bool same = true;
    for (const auto& f : fields) {
      std::string want = testing::zeek_unescape(base.get(i, f));
      std::string got = match->get(f);
      if (f == "fuid") {  // ids differ by construction: compare set/unset
        want = want == "-" ? "-" : "set";
        got = got == "-" ? "-" : "set";
      }
      if (want != got) {
        same = false;
        out.diffs.push_back("row " + std::to_string(i) + " " + f + ": want '" + want + "' got '" +
                            got + "'");
      }
    }
    if (same) ++out.identical;
  }
}

std::vector<testing::CapturedRecord> run(const std::string& pcap, SmbLimits limits,
                                         const std::string& type) {
  std::vector<testing::CapturedRecord> out;
  for (const auto& c : testing::read_tcp_streams(pcap)) {
    FlowContext flow;
    flow.uid = "C" + std::to_string(c.orig_port);
    flow.tuple.src = IpAddr::parse(c.orig_ip).value_or(IpAddr{});
    flow.tuple.dst = IpAddr::parse(c.resp_ip).value_or(IpAddr{});
    flow.tuple.sport = c.orig_port;
    flow.tuple.dport = c.resp_port;
    CaptureSink sink;
    SmbSession s(SessionContext{&sink, &flow}, limits);
    TimeNs last = 0;
    for (const auto& ch : c.chunks) {
      Direction d = ch.dir == 0 ? Direction::kToServer : Direction::kToClient;
      if (ch.gap)
        s.on_gap(d, ch.gap, ch.ts_ns);
      else
        s.on_data(d, ch.bytes, ch.ts_ns);
      last = ch.ts_ns;
    }
    s.on_close(last);
    for (auto& r : sink.records)
      if (r.type == type) out.push_back(r);
  }
  return out;
}

TEST(SmbCorpus, ZeekBaselines) {
  namespace fs = std::filesystem;
  const fs::path zeek = fs::path(KOMAINU_SHARED_DIR) / "corpus/zeek";
  if (!fs::exists(zeek / "manifest.json")) GTEST_SKIP() << "corpus not found at " << zeek;
  struct Case {
    const char* pcap;
    const char* test;
    const char* log;
    bool read_write;
  };
  const Case kCases[] = {
      {"smb/smb2.delete-on-close-perms-delete-existing.pcap", "smb2-create-delete-on-close",
       "smb_files", true},
      {"smb/smb2readwrite.pcap", "smb2-read-write", "smb_files", true},
      {"smb/smb3_multichannel.pcap", "smb3-multichannel", "smb_files", false},
      {"smb/smb3.pcap", "smb3", "smb_mapping", false},
      {"smb/smb2readwrite.pcap", "smb2-read-write", "files", true},
      {"smb/smb_v2_only_non_zero_reserved1.pcap", "smb2-read-response-non-zero-reserved1", "files",
       false},
  };
  std::map<std::string, LogParity> per_log;
  for (const auto& c : kCases) {
    fs::path base_path = zeek / "baselines" /
                         (std::string("scripts.base.protocols.smb.") + c.test) /
                         (std::string(c.log) + ".log");
    testing::ZeekBaseline base;
    ASSERT_TRUE(testing::read_zeek_baseline(base_path.string(), base)) << base_path;
    SmbLimits limits;
    limits.log_read_write = c.read_write;
    std::string log = c.log;
    auto mine = run((zeek / "traces" / c.pcap).string(), limits, log == "files" ? "fileinfo" : log);
    if (getenv("KOMAINU_TEST_VERBOSE"))
      for (const auto& r : mine) {
        printf("  ours:");
        for (const auto& v : r.values) printf(" %s", v.c_str());
        printf("\n");
      }
    LogParity p;
    if (log == "smb_files")
      compare(base, mine,
              {"fuid", "action", "path", "name", "size", "prev_name", "times.modified",
               "times.accessed", "times.created", "times.changed"},
              {"id.orig_p", "action", "name"}, p);
    else if (log == "smb_mapping")
      compare(base, mine, {"path", "service", "native_file_system", "share_type"},
              {"id.orig_p", "path"}, p);
    else
      compare(base, mine,
              {"source", "mime_type", "filename", "is_orig", "seen_bytes", "total_bytes",
               "missing_bytes"},
              {"filename"}, p);
    printf("%-12s %-55s %zu/%zu (ours: %zu)\n", c.log, c.pcap, p.identical, p.rows, mine.size());
    for (size_t i = 0; i < p.diffs.size() && i < 5; ++i) printf("    %s\n", p.diffs[i].c_str());
    per_log[log].rows += p.rows;
    per_log[log].identical += p.identical;
  }
  for (const auto& [log, p] : per_log) {
    printf("%s.log parity (payload-level): %zu/%zu\n", log.c_str(), p.identical, p.rows);
    EXPECT_GE(p.identical * 100, p.rows * 80) << log;
  }
}

}  // namespace
}  // namespace komainu::smb
