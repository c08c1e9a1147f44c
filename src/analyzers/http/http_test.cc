#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <string>

#include "analyzers/files/capture_sink.h"
#include "analyzers/files/pcap_streams.h"
#include "analyzers/http/http_session.h"

namespace komainu::http {
namespace {

using testing::CaptureSink;

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct Harness {
  explicit Harness(HttpLimits limits = {}, HttpLogOptions opts = {}) {
    flow.uid = "CTest1";
    flow.tuple.src = *IpAddr::parse("10.0.0.1");
    flow.tuple.dst = *IpAddr::parse("10.0.0.2");
    flow.tuple.sport = 40000;
    flow.tuple.dport = 80;
    flow.tuple.proto = 6;
    session = std::make_unique<HttpSession>(SessionContext{&sink, &flow}, limits, opts);
  }
  void client(std::string_view s, TimeNs ts = 1) {
    session->on_data(Direction::kToServer, bytes(s), ts);
  }
  void server(std::string_view s, TimeNs ts = 2) {
    session->on_data(Direction::kToClient, bytes(s), ts);
  }
  // Byte by byte: every chunk boundary must give the same result.
  void client_bytewise(std::string_view s) {
    for (char c : s) client(std::string_view(&c, 1));
  }
  void server_bytewise(std::string_view s) {
    for (char c : s) server(std::string_view(&c, 1));
  }
  FlowContext flow;
  CaptureSink sink;
  std::unique_ptr<HttpSession> session;
};

std::string gzip(std::string_view in, int wbits = 15 + 16) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(Http, SimpleTransactionAnyChunking) {
  const std::string req =
      "GET /a%20b/../c.html?x=1 HTTP/1.1\r\nHost: Example.COM:8080\r\nUser-Agent: t/1\r\n"
      "Referer: http://r/\r\nCookie: k=v\r\n\r\n";
  const std::string resp =
      "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 5\r\n\r\n"
      "hello";
  for (int mode = 0; mode < 2; ++mode) {
    Harness h;
    if (mode == 0) {
      h.client(req);
      h.server(resp);
    } else {
      h.client_bytewise(req);
      h.server_bytewise(resp);
    }
    auto http = h.sink.of("http");
    ASSERT_EQ(http.size(), 1u) << mode;
    const auto& r = *http[0];
    EXPECT_EQ(r.get("trans_depth"), "1");
    EXPECT_EQ(r.get("method"), "GET");
    EXPECT_EQ(r.get("host"), "Example.COM:8080");
    EXPECT_EQ(r.get("uri"), "/a b/../c.html?x=1");
    EXPECT_EQ(r.get("version"), "1.1");
    EXPECT_EQ(r.get("user_agent"), "t/1");
    EXPECT_EQ(r.get("referrer"), "http://r/");
    EXPECT_EQ(r.get("status_code"), "200");
    EXPECT_EQ(r.get("status_msg"), "OK");
    EXPECT_EQ(r.get("response_body_len"), "5");
    EXPECT_EQ(r.get("resp_mime_types"), "-");  // 5 bytes: under Zeek's 10 for text/plain
    EXPECT_NE(r.eve.find("\"hostname\":\"example.com\""), std::string::npos) << r.eve;
    EXPECT_NE(r.eve.find("\"http_port\":8080"), std::string::npos) << r.eve;
    EXPECT_NE(r.eve.find("\"http_content_type\":\"text/html\""), std::string::npos) << r.eve;
    EXPECT_NE(r.eve.find("\"protocol\":\"HTTP/1.1\""), std::string::npos) << r.eve;
    EXPECT_NE(r.eve.find("\"status\":200"), std::string::npos) << r.eve;
    EXPECT_NE(r.eve.find("\"length\":5"), std::string::npos) << r.eve;
    auto files = h.sink.of("fileinfo");
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(files[0]->get("md5"), "5d41402abc4b2a76b9719d911017c592");
    EXPECT_EQ(files[0]->get("seen_bytes"), "5");
    EXPECT_EQ(files[0]->get("total_bytes"), "5");
    EXPECT_EQ(files[0]->get("source"), "HTTP");
    EXPECT_EQ(files[0]->get("fuid"), r.get("resp_fuids"));
    EXPECT_NE(files[0]->eve.find("\"filename\":\"/a%20b/../c.html\""), std::string::npos)
        << files[0]->eve;
    EXPECT_NE(files[0]->eve.find("\"state\":\"CLOSED\""), std::string::npos);
    EXPECT_NE(files[0]->eve.find("\"http\":{"), std::string::npos);
    EXPECT_EQ(h.session->anomalies().total(), 0u);
  }
}

TEST(Http, BuffersForSignatures) {
  Harness h;
  h.client("POST /x/./y/../z HTTP/1.1\r\nHost: h\r\nCookie: c=1\r\nContent-Length: 3\r\n\r\n");
  h.client("abc");
  ASSERT_EQ(h.session->parser().pending().size(), 1u);
  const HttpBuffers& b = h.session->parser().pending().front().buf;
  EXPECT_EQ(b.method, "POST");
  EXPECT_EQ(b.uri_raw, "/x/./y/../z");
  EXPECT_EQ(b.uri_normalized, "/x/z");
  EXPECT_EQ(b.cookie, "c=1");
  EXPECT_EQ(b.request_body, "abc");
  EXPECT_EQ(b.request_header_names, "\r\nHost\r\nCookie\r\nContent-Length\r\n\r\n");
  EXPECT_EQ(b.request_line, "POST /x/./y/../z HTTP/1.1");
  EXPECT_NE(b.request_headers_raw.find("Cookie: c=1\r\n"), std::string::npos);
}

bool has_event(const HttpTransaction& tx, std::string_view name) {
  for (const auto& [n, d] : tx.anomalies)
    if (n == name) return true;
  return false;
}

// libhtp's events without a Zeek weird: kept on the transaction, never in weird.log.
TEST(Http, SuricataOnlyEvents) {
  {
    Harness h;
    h.client("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length:3\r\nContent-Length: 9\r\n\r\nabc");
    ASSERT_EQ(h.session->parser().pending().size(), 1u);
    const auto& tx = h.session->parser().pending().front();
    EXPECT_TRUE(has_event(tx, "http.duplicate_content_length_field_in_request"));
    EXPECT_EQ(tx.buf.request_body, "abc");  // the first length frames the body
  }
  {
    Harness h;  // the same length twice is no ambiguity
    h.client("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc");
    EXPECT_FALSE(has_event(h.session->parser().pending().front(),
                           "http.duplicate_content_length_field_in_request"));
  }
  {
    Harness h;  // three compression layers: libhtp allows two
    h.client("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    h.server("HTTP/1.1 200 OK\r\nContent-Encoding: identity, gzip, gzip, identity, deflate\r\n");
    const auto& tx = h.session->parser().pending().front();
    EXPECT_FALSE(has_event(tx, "http.too_many_encoding_layers"));
    h.server("\r\n");
    EXPECT_TRUE(has_event(h.session->parser().pending().front(), "http.too_many_encoding_layers"));
  }
  {
    Harness h;  // a body line after a request without a length: libhtp's unexpected body
    h.client("POST /l HTTP/1.1\r\nHost: h\r\n\r\nlogin=foo&password=bar\r\n");
    ASSERT_FALSE(h.session->parser().pending().empty());
    const auto& tx = h.session->parser().pending().front();
    EXPECT_TRUE(has_event(tx, "http.request_body_unexpected"));
    EXPECT_EQ(tx.buf.request_body, "login=foo&password=bar\r\n");
    EXPECT_EQ(tx.request_body_len, 0u);  // Zeek's view is unchanged
  }
  {
    Harness h;  // a second request is not a body
    h.client("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    ASSERT_EQ(h.session->parser().pending().size(), 2u);
    EXPECT_FALSE(has_event(h.session->parser().pending().front(), "http.request_body_unexpected"));
  }
  {
    Harness h;  // labelled gzip, sent clear: libhtp passes it on, Zeek decodes nothing
    h.client("POST /g HTTP/1.1\r\nHost: h\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\n");
    h.client("{\"a\":\"b\"}");
    const auto& tx = h.session->parser().pending().front();
    EXPECT_EQ(tx.buf.request_body, "{\"a\":\"b\"}");
    EXPECT_EQ(tx.request_body_len, 0u);
  }
  Harness h;
  h.client("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\na");
  EXPECT_EQ(h.session->anomalies().total(), 0u);
  EXPECT_TRUE(h.sink.of("anomaly").empty());
}

// Evasions libhtp decodes: several compression layers (several headers, or a list), raw
// deflate under a gzip label in a layered body, odd whitespace around a coding.
TEST(Http, TwoCompressionLayersAndOddCodings) {
  const std::string text = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
  struct Case {
    std::string encodings;
    std::string body;
  };
  const Case cases[] = {
      {"Content-Encoding: gzip\r\nContent-Encoding: gzip\r\n", gzip(gzip(text))},
      {"Content-Encoding: gzip, deflate\r\n", gzip(gzip(text), -15)},
      {"Content-Encoding: deflate,gzip\r\nContent-Encoding: deflate\r\n",
       gzip(gzip(gzip(text, -15)), -15)},  // three names: three layers
      {"Content-Encoding:deflate\r\n ,\r\n deflate\r\n", gzip(gzip(text, 15), -15)},
      {"Content-Encoding:\x0c"
       "deflate\r\n",
       gzip(text, -15)},
      {"Content-Encoding: deflate\x0b\r\n", gzip(text, 15)},
      {"Content-Encoding\r\n :\r\n deflate\r\n", gzip(text, -15)},     // name folded
      {std::string("Content-Encoding:\n\0gzip\r\n", 25), gzip(text)},  // folded on a NUL
      // A second layer named but not applied: the first layer's output is the body.
      {"Content-Encoding: gzip, gzip\r\n", gzip(text)},
  };
  for (const auto& c : cases) {
    Harness h;
    h.client("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    h.server("HTTP/1.1 200 OK\r\n" + c.encodings +
             "Content-Length: " + std::to_string(c.body.size()) + "\r\n\r\n" + c.body);
    auto http = h.sink.of("http");
    ASSERT_EQ(http.size(), 1u) << c.encodings;
    auto files = h.sink.of("fileinfo");
    ASSERT_EQ(files.size(), 1u) << c.encodings;
    EXPECT_EQ(files[0]->get("seen_bytes"), std::to_string(text.size())) << c.encodings;
  }
}

// Framing evasions libhtp reads through: "\n\r" line ends, a folded header name, a chunked
// body on a 204.
TEST(Http, OddHeaderFraming) {
  const std::string body = "4\r\nX5O!\r\n3\r\nP%@\r\n0\r\n\r\n";
  const std::string heads[] = {
      "HTTP/1.1 200 ok\n\rContent-type: text/plain\n\rTransfer-Encoding: chunked\n\rX: y\r\n\r\n",
      "HTTP/1.1 200 ok\r\nConnection: close\r\nTransfer-Encoding\r\n :chunked\r\nX: y\r\n\r\n",
      "HTTP/1.1 204 ok\r\nTransfer-Encoding: chunked\r\n\r\n",  // a "bodiless" status
  };
  for (const auto& head : heads) {
    Harness h;
    h.client("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    h.server(head + body);
    auto files = h.sink.of("fileinfo");
    ASSERT_EQ(files.size(), 1u) << head;
    EXPECT_EQ(files[0]->get("seen_bytes"), "7") << head;
  }
}

TEST(Http, MultipartPartsAreFiles) {
  const std::string body =
      "--outer\r\n"
      "Content-Disposition: form-data; name=\"a\"\r\n\r\n"
      "value-a\r\n"
      "--outer\r\n"
      "Content-Type: multipart/mixed; boundary=inner\r\n\r\n"
      "--inner\r\n"
      "Content-Disposition: attachment; filename=\"x.pdf\"\r\n\r\n"
      "%PDF-1.4 data\r\n--notadelimiter\r\n"
      "--inner\r\n"
      "Content-Disposition: attachment; filename=\"y.txt\"\r\n\r\n"
      "hello\r\n"
      "--inner--\r\n"
      "--outer--\r\n";
  for (bool bytewise : {false, true}) {
    Harness h;
    std::string req =
        "POST /up HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=outer\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    if (bytewise)
      h.client_bytewise(req);
    else
      h.client(req);
    h.server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    auto http = h.sink.of("http");
    ASSERT_EQ(http.size(), 1u);
    EXPECT_EQ(http[0]->get("request_body_len"), std::to_string(body.size()));
    EXPECT_EQ(http[0]->get("orig_filenames"), "x.pdf,y.txt");
    // The two short text parts have no type (Zeek's text/plain wants ten bytes).
    EXPECT_EQ(http[0]->get("orig_mime_types"), "application/pdf");
    auto files = h.sink.of("fileinfo");
    ASSERT_EQ(files.size(), 3u);
    EXPECT_EQ(files[0]->get("seen_bytes"), "7");
    EXPECT_EQ(files[1]->get("seen_bytes"),
              std::to_string(strlen("%PDF-1.4 data\r\n--notadelimiter")));
    EXPECT_EQ(files[2]->get("md5"), "5d41402abc4b2a76b9719d911017c592");
  }
}

TEST(Http, PipeliningMatchesInOrder) {
  Harness h;
  h.client(
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 "
      "HTTP/1.1\r\n\r\n");
  h.server(
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nxx"
      "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"  // HEAD: no body despite the length
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n");
  auto http = h.sink.of("http");
  ASSERT_EQ(http.size(), 3u);
  EXPECT_EQ(http[0]->get("uri"), "/1");
  EXPECT_EQ(http[0]->get("response_body_len"), "2");
  EXPECT_EQ(http[1]->get("method"), "HEAD");
  EXPECT_EQ(http[1]->get("response_body_len"), "0");
  EXPECT_EQ(http[2]->get("trans_depth"), "3");
  EXPECT_EQ(http[2]->get("status_code"), "304");
}

TEST(Http, ChunkedGzipBodyIsDecoded) {
  std::string body(5000, 'A');
  std::string z = gzip(body);
  std::string chunked;
  for (size_t i = 0; i < z.size(); i += 100) {
    std::string part = z.substr(i, 100);
    char hex[16];
    snprintf(hex, sizeof hex, "%zx", part.size());
    chunked += std::string(hex) + ";ext=1\r\n" + part + "\r\n";
  }
  chunked += "0\r\nX-Trailer: 1\r\n\r\n";
  Harness h;
  h.client("GET / HTTP/1.1\r\n\r\n");
  h.server_bytewise(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n" + chunked);
  auto http = h.sink.of("http");
  ASSERT_EQ(http.size(), 1u);
  EXPECT_EQ(http[0]->get("response_body_len"), "5000");
  auto files = h.sink.of("fileinfo");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0]->get("seen_bytes"), "5000");
  EXPECT_EQ(files[0]->get("md5"), "1811ed45a571e515ed0faefc29f27026");
  EXPECT_EQ(h.session->anomalies().total(), 0u);
}

TEST(Http, RawDeflateWithoutZlibHeader) {
  std::string body = "var x = 1; // javascript";
  Harness h;
  h.client("GET / HTTP/1.1\r\n\r\n");
  std::string raw = gzip(body, -15);
  h.server("HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: " +
           std::to_string(raw.size()) + "\r\n\r\n" + raw);
  auto http = h.sink.of("http");
  ASSERT_EQ(http.size(), 1u);
  EXPECT_EQ(http[0]->get("response_body_len"), std::to_string(body.size()));
}

TEST(Http, DecompressionBombIsBoundedAndCounted) {
  HttpLimits limits;
  limits.max_decoded = 1 << 20;
  Harness h(limits);
  std::string zeros(8 << 20, '\0');
  std::string z = gzip(zeros);
  ASSERT_LT(z.size(), 64u * 1024);
  h.client("GET /bomb HTTP/1.1\r\n\r\n");
  h.server("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " +
           std::to_string(z.size()) + "\r\n\r\n" + z);
  auto http = h.sink.of("http");
  ASSERT_EQ(http.size(), 1u);
  EXPECT_LE(std::stoull(http[0]->get("response_body_len")), uint64_t(1) << 20);
  EXPECT_EQ(h.session->anomalies().count("http_decompression_bomb"), 1u);
  auto files = h.sink.of("fileinfo");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_NE(files[0]->eve.find("TRUNCATED"), std::string::npos);
}

TEST(Http, ConnectStopsParsingAfter2xx) {
  Harness h;
  h.client("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  h.server("HTTP/1.1 200 Connection established\r\n\r\n");
  h.client(std::string_view("\x16\x03\x01\x00\x05hello", 10));
  h.server(std::string_view("\x16\x03\x03\x00\x02zz", 7));
  h.session->on_close(10);
  auto http = h.sink.of("http");
  ASSERT_EQ(http.size(), 1u);
  EXPECT_EQ(http[0]->get("method"), "CONNECT");
  EXPECT_EQ(http[0]->get("uri"), "example.com:443");
  EXPECT_EQ(http[0]->get("status_code"), "200");
  EXPECT_TRUE(h.session->parser().tunnel());
  EXPECT_TRUE(h.session->handed_off());  // the flow stage probes the tunnelled protocol
  EXPECT_EQ(h.session->anomalies().total(), 0u);
}

TEST(Http, HundredContinue) {
  Harness h;
  h.client("POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  h.server("HTTP/1.1 100 Continue\r\n\r\n");
  h.client("data");
  h.server("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
  auto http = h.sink.of("http");
  ASSERT_EQ(http.size(), 1u);
  EXPECT_EQ(http[0]->get("info_code"), "100");
  EXPECT_EQ(http[0]->get("info_msg"), "Continue");
  EXPECT_EQ(http[0]->get("status_code"), "201");
  EXPECT_EQ(http[0]->get("request_body_len"), "4");
  EXPECT_EQ(h.sink.of("fileinfo").size(), 1u);
}

TEST(Http, CloseDelimitedAndHttp09) {
  Harness h;
  h.client("GET /old\r\n");
  h.server("<html>raw</html>");
  h.session->on_close(5);
  auto http = h.sink.of("http");
  ASSERT_EQ(http.size(), 2u);
  EXPECT_EQ(http[0]->get("version"), "0.9");
  EXPECT_EQ(http[0]->get("status_code"), "0");
  EXPECT_EQ(http[0]->get("response_body_len"), "16");
  EXPECT_EQ(http[0]->get("resp_mime_types"), "text/html");
  EXPECT_TRUE(http[0]->has_eve);
  // Zeek logs an empty transaction after an HTTP/0.9 reply (http.log only, no EVE event).
  EXPECT_FALSE(http[1]->has_eve);
  EXPECT_EQ(http[1]->get("trans_depth"), "2");
  EXPECT_EQ(http[1]->get("method"), "-");
  EXPECT_EQ(http[1]->get("status_code"), "-");
}

TEST(Http, Http09RequestEndsReplyInProgressLikeZeek) {
  Harness h;
  h.server("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n");
  h.client("GET /\r\n");
  h.server("this is too much.\r\n");
  h.session->on_close(5);
  auto http = h.sink.of("http");
  ASSERT_EQ(http.size(), 3u);
  EXPECT_EQ(http[0]->get("status_code"), "200");
  EXPECT_EQ(http[0]->get("response_body_len"), "0");
  EXPECT_EQ(http[1]->get("version"), "0.9");
  EXPECT_EQ(http[1]->get("response_body_len"), "19");
}

TEST(Http, CloseDelimitedBodyCountsLastLineLikeZeek) {
  Harness h;
  h.client("GET / HTTP/1.1\r\n\r\n");
  h.server("HTTP/1.1 200 OK\r\n\r\nno line end");
  h.session->on_close(5);
  auto http = h.sink.of("http");
  ASSERT_EQ(http.size(), 1u);
  EXPECT_EQ(http[0]->get("response_body_len"), "13");
  auto files = h.sink.of("fileinfo");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0]->get("seen_bytes"), "11");
}

TEST(Http, GapTruncatesFile) {
  Harness h;
  h.client("GET / HTTP/1.1\r\n\r\n");
  h.server("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab");
  h.session->on_gap(Direction::kToClient, 3, 3);
  h.server("cdefg");
  auto files = h.sink.of("fileinfo");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0]->get("missing_bytes"), "3");
  EXPECT_EQ(files[0]->get("md5"), "-");
  EXPECT_NE(files[0]->eve.find("TRUNCATED"), std::string::npos);
  EXPECT_EQ(h.session->anomalies().count("content_gap"), 1u);
  // A gap in the headers: the direction stops, nothing crashes.
  h.client("GET /2 HTTP/1.1\r\nHo");
  h.session->on_gap(Direction::kToServer, 100, 4);
  h.client("st: x\r\n\r\n");
  h.session->on_close(5);
  EXPECT_EQ(h.sink.of("http").size(), 2u);
}

// 206 answers to range requests for one URL, over two connections: EVE keeps one fileinfo
// per response (Suricata), files.log one joined file (Zeek's handle is client + URL) with a
// row per connection, logged when the last of them closes.
TEST(Http, RangeResponsesJoinOneFileAcrossConnections) {
  HttpWorkerState worker;
  CaptureSink sink;
  FlowContext f[2];
  std::unique_ptr<HttpSession> s[2];
  for (int i = 0; i < 2; ++i) {
    f[i].uid = i ? "CTest2" : "CTest1";
    f[i].tuple.src = *IpAddr::parse("10.0.0.1");
    f[i].tuple.dst = *IpAddr::parse("10.0.0.2");
    f[i].tuple.sport = uint16_t(40000 + i);
    f[i].tuple.dport = 80;
    f[i].tuple.proto = 6;
    s[i] = std::make_unique<HttpSession>(SessionContext{&sink, &f[i], nullptr, &worker});
  }
  const char* ranges[2] = {"0-3", "6-9"};
  for (int i = 0; i < 2; ++i)
    s[i]->on_data(Direction::kToServer,
                  bytes(std::string("GET /f.bin HTTP/1.1\r\nHost: h\r\nRange: bytes=") + ranges[i] +
                        "\r\n\r\n"),
                  1);
  for (int i = 0; i < 2; ++i)
    s[i]->on_data(Direction::kToClient,
                  bytes(std::string("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ") +
                        ranges[i] + "/10\r\nContent-Length: 4\r\n\r\nabcd"),
                  2 + i);
  auto eve = sink.of("fileinfo");
  ASSERT_EQ(eve.size(), 2u);
  for (auto* r : eve) {
    EXPECT_TRUE(r->has_eve);
    EXPECT_TRUE(r->zeek_path.empty());  // no files.log row of its own
    EXPECT_NE(r->eve.find("\"size\":4"), std::string::npos) << r->eve;
  }
  s[0]->on_close(5);
  EXPECT_TRUE(sink.of("files").empty());  // the other connection still carries the file
  s[1]->on_close(6);
  auto rows = sink.of("files");
  ASSERT_EQ(rows.size(), 2u);
  for (auto* r : rows) {
    EXPECT_FALSE(r->has_eve);
    EXPECT_EQ(r->get("seen_bytes"), "8");
    EXPECT_EQ(r->get("total_bytes"), "10");
    EXPECT_EQ(r->get("missing_bytes"), "2");
    EXPECT_EQ(r->get("timedout"), "T");
    EXPECT_EQ(r->get("fuid"), rows[0]->get("fuid"));
  }
  EXPECT_NE(rows[0]->get("uid"), rows[1]->get("uid"));
  auto http = sink.of("http");
  ASSERT_EQ(http.size(), 2u);
  for (auto* r : http) EXPECT_EQ(r->get("resp_fuids"), rows[0]->get("fuid"));
}

// Pieces shorter than the file are not hashed on their own (they can never be complete);
// the joined file is, when its pieces arrive in order, and so is a 206 carrying the whole file.
TEST(Http, RangePiecesAreHashedOnlyAsTheJoinedFile) {
  HttpWorkerState worker;
  CaptureSink sink;
  FlowContext f[3];
  std::vector<std::unique_ptr<HttpSession>> s;
  const char* ranges[3] = {"0-4/10", "5-9/10", "0-9/10"};
  const char* bodies[3] = {"abcde", "fghij", "abcdefghij"};
  for (int i = 0; i < 3; ++i) {
    f[i].uid = "CTest" + std::to_string(i);
    f[i].tuple.src = *IpAddr::parse(i == 2 ? "10.0.0.3" : "10.0.0.1");
    f[i].tuple.dst = *IpAddr::parse("10.0.0.2");
    f[i].tuple.sport = uint16_t(40000 + i);
    f[i].tuple.dport = 80;
    f[i].tuple.proto = 6;
    s.push_back(std::make_unique<HttpSession>(SessionContext{&sink, &f[i], nullptr, &worker}));
    s[i]->on_data(Direction::kToServer,
                  bytes("GET /f.bin HTTP/1.1\r\nHost: h\r\nRange: bytes=" +
                        std::string(ranges[i]).substr(0, 3) + "\r\n\r\n"),
                  1 + i);
    s[i]->on_data(
        Direction::kToClient,
        bytes(std::string("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ") + ranges[i] +
              "\r\nContent-Length: " + std::to_string(strlen(bodies[i])) + "\r\n\r\n" + bodies[i]),
        1 + i);
  }
  auto eve = sink.of("fileinfo");
  ASSERT_EQ(eve.size(), 3u);
  EXPECT_EQ(eve[0]->eve.find("\"md5\""), std::string::npos) << eve[0]->eve;
  EXPECT_EQ(eve[1]->eve.find("\"md5\""), std::string::npos) << eve[1]->eve;
  // md5("abcdefghij")
  EXPECT_NE(eve[2]->eve.find("\"md5\":\"a925576942e94b2ef57a066101b48876\""), std::string::npos)
      << eve[2]->eve;
  for (auto& sess : s) sess->on_close(9);
  bool joined = false;
  for (auto* r : sink.of("files"))
    if (r->get("uid") == "CTest0") {
      joined = true;
      EXPECT_EQ(r->get("md5"), "a925576942e94b2ef57a066101b48876");
      EXPECT_EQ(r->get("seen_bytes"), "10");
    }
  EXPECT_TRUE(joined);
}

// A full table of joined range files evicts the stalest (logged, timed out) and counts it
// once per worker, whichever session triggered it.
TEST(Http, RangeFileEvictionsAreCountedOncePerWorker) {
  HttpWorkerState worker;
  worker.range_files = files::RangeFiles(1);
  CaptureSink sink;
  FlowContext f[3];
  std::vector<std::unique_ptr<HttpSession>> s;
  for (int i = 0; i < 3; ++i) {
    f[i].uid = "CTest" + std::to_string(i);
    f[i].tuple.src = *IpAddr::parse("10.0.0.1");
    f[i].tuple.dst = *IpAddr::parse("10.0.0.2");
    f[i].tuple.sport = uint16_t(40000 + i);
    f[i].tuple.dport = 80;
    f[i].tuple.proto = 6;
    s.push_back(std::make_unique<HttpSession>(SessionContext{&sink, &f[i], nullptr, &worker}));
    s[i]->on_data(
        Direction::kToServer,
        bytes("GET /f" + std::to_string(i) + " HTTP/1.1\r\nHost: h\r\nRange: bytes=0-3\r\n\r\n"),
        1);
    s[i]->on_data(Direction::kToClient,
                  bytes("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-3/10\r\n"
                        "Content-Length: 4\r\n\r\nabcd"),
                  2 + i);
  }
  EXPECT_EQ(sink.of("files").size(), 2u);
  ASSERT_EQ(worker.anomalies.names().size(), 1u);
  EXPECT_EQ(worker.anomalies.names()[0], "http_range_file_evicted");
  EXPECT_EQ(worker.anomalies.counts()[0], 2u);
}

TEST(Http, MalformedInputIsNamedAndCounted) {
  Harness h;
  h.client("\x01\x02 garbage\r\n\r\n");
  h.server("NOT HTTP\r\n");
  h.session->on_close(3);
  EXPECT_EQ(h.session->anomalies().count("bad_HTTP_request"), 1u);
  EXPECT_EQ(h.session->anomalies().count("bad_HTTP_reply"), 1u);
  auto anomalies = h.sink.of("anomaly");
  ASSERT_GE(anomalies.size(), 2u);
  EXPECT_EQ(anomalies[0]->zeek_path, "weird");
}

TEST(Http, HeaderLimits) {
  HttpLimits limits;
  limits.max_headers = 4;
  limits.max_line = 64;
  Harness h(limits);
  std::string req = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 20; ++i) req += "X-" + std::to_string(i) + ": v\r\n";
  req += "X-Long: " + std::string(1000, 'a') + "\r\n\r\n";
  h.client(req);
  ASSERT_EQ(h.session->parser().pending().size(), 1u);
  EXPECT_EQ(h.session->parser().pending().front().request_headers.size(), 4u);
  EXPECT_EQ(h.session->anomalies().count("http_too_many_headers"), 1u);
  EXPECT_EQ(h.session->anomalies().count("http_line_too_long"), 1u);
}

TEST(Http, BasicAuthAndProxied) {
  HttpLogOptions opts;
  opts.capture_password = true;
  Harness h({}, opts);
  h.client("GET / HTTP/1.0\r\nAuthorization: Basic  dGVzdDoxOjM0\r\nVia: 1.1 p\r\n\r\n");
  h.server("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
  auto http = h.sink.of("http");
  ASSERT_EQ(http.size(), 1u);
  EXPECT_EQ(http[0]->get("username"), "test");
  EXPECT_EQ(http[0]->get("password"), "1:34");
  EXPECT_EQ(http[0]->get("proxied"), "VIA -> 1.1 p");
}

TEST(Http, Probe) {
  EXPECT_EQ(probe_http(bytes("GET / HTTP/1.1"), Direction::kToServer, 80), ProbeResult::kYes);
  EXPECT_EQ(probe_http(bytes("PO"), Direction::kToServer, 8080), ProbeResult::kMaybe);
  EXPECT_EQ(probe_http(bytes("SSH-2.0"), Direction::kToServer, 80), ProbeResult::kNo);
  EXPECT_EQ(probe_http(bytes("HTTP/1.1 200"), Direction::kToClient, 80), ProbeResult::kYes);
  EXPECT_NE(Registry<AnalyzerApi>::find("http"), nullptr);
}

TEST(Http, UnescapeUri) {
  EXPECT_EQ(unescape_uri("/%"), "/%");
  EXPECT_EQ(unescape_uri("/%5"), "/%5");
  EXPECT_EQ(unescape_uri("/%41%zz"), "/A%zz");
}

// --- real payloads: corpus traces against Zeek's http.log baselines ---------------------

struct TraceResult {
  size_t baseline_rows = 0;
  size_t identical = 0;
  std::vector<std::string> diffs;
};

const char* kCompared[] = {"trans_depth",       "method",      "host",           "uri",
                           "referrer",          "version",     "user_agent",     "request_body_len",
                           "response_body_len", "status_code", "status_msg",     "info_code",
                           "username",          "proxied",     "resp_mime_types"};

TraceResult run_trace(const std::string& pcap, const std::string& baseline) {
  TraceResult res;
  testing::ZeekBaseline base;
  if (!testing::read_zeek_baseline(baseline, base)) return res;
  auto conns = testing::read_tcp_streams(pcap);
  std::map<std::string, std::vector<testing::CapturedRecord>> by_conn;
  for (const auto& c : conns) {
    FlowContext flow;
    flow.uid = "C" + c.orig_ip + ":" + std::to_string(c.orig_port);
    flow.tuple.src = IpAddr::parse(c.orig_ip).value_or(IpAddr{});
    flow.tuple.dst = IpAddr::parse(c.resp_ip).value_or(IpAddr{});
    flow.tuple.sport = c.orig_port;
    flow.tuple.dport = c.resp_port;
    CaptureSink sink;
    HttpSession s(SessionContext{&sink, &flow});
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
    std::string key = c.orig_ip + "|" + std::to_string(c.orig_port) + "|" + c.resp_ip + "|" +
                      std::to_string(c.resp_port);
    for (auto& r : sink.records)
      if (r.type == "http") by_conn[key].push_back(r);
  }
  size_t ours = 0;
  for (const auto& [k, v] : by_conn) ours += v.size();
  if (ours > base.rows.size())
    res.diffs.push_back(std::to_string(ours - base.rows.size()) + " record(s) not in the baseline");
  for (size_t i = 0; i < base.rows.size(); ++i) {
    ++res.baseline_rows;
    std::string key = base.get(i, "id.orig_h") + "|" + base.get(i, "id.orig_p") + "|" +
                      base.get(i, "id.resp_h") + "|" + base.get(i, "id.resp_p");
    const testing::CapturedRecord* mine = nullptr;
    for (const auto& r : by_conn[key])
      if (r.get("trans_depth") == base.get(i, "trans_depth") &&
          (r.get("method") == base.get(i, "method") || !mine)) {
        mine = &r;
        if (r.get("method") == base.get(i, "method")) break;
      }
    if (!mine) {
      res.diffs.push_back("row " + std::to_string(i) + ": missing");
      continue;
    }
    bool same = true;
    for (const char* f : kCompared) {
      std::string want = testing::zeek_unescape(base.get(i, f));
      if (mine->get(f) != want) {
        same = false;
        res.diffs.push_back("row " + std::to_string(i) + " " + f + ": want '" + want + "' got '" +
                            mine->get(f) + "'");
      }
    }
    if (same) ++res.identical;
  }
  return res;
}

TEST(HttpCorpus, ZeekBaselines) {
  namespace fs = std::filesystem;
  const fs::path shared = KOMAINU_SHARED_DIR;
  const fs::path zeek = shared / "corpus/zeek";
  if (!fs::exists(zeek / "manifest.json")) GTEST_SKIP() << "corpus not found at " << zeek;
  // Traces whose HTTP runs over plain TCP (tunnelled ones need the pipeline's decoders).
  const std::pair<const char*, const char*> kTraces[] = {
      {"http/basic-auth-with-colon.pcap", "http.http-basic-auth-colon"},
      {"http/basic-auth-with-extra-space.pcap", "http.http-basic-auth-extra-space"},
      {"http/concurrent-range-requests.pcap", "http.concurrent-range-requests"},
      {"http/connect-with-header.pcap", "http.http-connect-with-header"},
      {"http/connect-with-smtp.pcap", "http.http-connect"},
      {"http/content-range-less-than-len.pcap", "http.content-range-less-than-len"},
      {"http/curl_http_09.pcap", "http.curl-http-09"},
      {"http/deeply-nested-mime.pcap", "http.deeply-nested-mime"},
      {"http/fake-content-length.pcap", "http.fake-content-length"},
      {"http/http-09-content-length-confusion.pcap", "http.http-09-content-length-confusion"},
      {"http/http-11-request-then-cruft.pcap", "http.http-11-request-then-cruft"},
      {"http/http-bad-content-range-01.pcap", "http.bad-content-range"},
      {"http/http-bad-request-with-version.pcap", "http.http-bad-request-with-version"},
      {"http/http-filename.pcap", "http.http-filename"},
      {"http/http_09.pcap", "http.http-09"},
      {"http/missing-zlib-header.pcap", "http.missing-zlib-header"},
      {"http/multipart-form-data.pcap", "http.multipart-body-length"},
      {"http/no-uri.pcap", "http.no-uri"},
      {"http/no-version.pcap", "http.no-version"},
      {"http/no_crlf.pcap", "http.http-no-crlf"},
      {"http/percent-end-of-line.pcap", "http.percent-end-of-line"},
      {"http/version-mismatch.pcap", "http.version-mismatch"},
  };
  size_t rows = 0, identical = 0;
  for (const auto& [pcap, test] : kTraces) {
    fs::path base =
        zeek / "baselines" / (std::string("scripts.base.protocols.") + test) / "http.log";
    fs::path trace = zeek / "traces" / pcap;
    if (!fs::exists(base) || !fs::exists(trace)) {
      ADD_FAILURE() << "missing " << base << " or " << trace;
      continue;
    }
    TraceResult r = run_trace(trace.string(), base.string());
    rows += r.baseline_rows;
    identical += r.identical;
    printf("%-45s %zu/%zu\n", pcap, r.identical, r.baseline_rows);
    for (size_t i = 0; i < r.diffs.size() && i < 6; ++i) printf("    %s\n", r.diffs[i].c_str());
  }
  printf("http.log parity (payload-level): %zu/%zu rows identical on compared fields\n", identical,
         rows);
  EXPECT_GT(rows, 30u);
  EXPECT_GE(identical * 100, rows * 80) << identical << "/" << rows;
}

TEST(HttpCorpus, MissingZlibHeaderDecodesLikeZeek) {
  namespace fs = std::filesystem;
  fs::path zeek = fs::path(KOMAINU_SHARED_DIR) / "corpus/zeek";
  if (!fs::exists(zeek / "traces/http/missing-zlib-header.pcap")) GTEST_SKIP() << "no corpus";
  TraceResult r = run_trace(
      (zeek / "traces/http/missing-zlib-header.pcap").string(),
      (zeek / "baselines/scripts.base.protocols.http.missing-zlib-header/http.log").string());
  EXPECT_EQ(r.baseline_rows, 2u);
  EXPECT_EQ(r.identical, 2u) << (r.diffs.empty() ? "" : r.diffs[0]);
}

}  // namespace
}  // namespace komainu::http
