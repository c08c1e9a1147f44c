#include "analyzers/tls/starttls.h"

#include <algorithm>
#include <string_view>

#include "core/ascii.h"

namespace komainu::tls {

namespace {

// Clear text watched per direction before giving up on an upgrade (a long plain session).
constexpr uint64_t kMaxText = 1 << 20;
// A line (IMAP) or an unfinished element (XMPP) longer than this is dropped unscanned.
constexpr size_t kMaxPending = 8192;
// Client bytes held between its request and the server's answer.
constexpr size_t kMaxEarly = 64 * 1024;

std::string_view trim_eol(std::string_view l) {
  while (!l.empty() && (l.back() == '\n' || l.back() == '\r' || l.back() == ' '))
    l.remove_suffix(1);
  return l;
}

// "<tag> <word>..." -> word (without the rest).
bool split_tag(std::string_view line, std::string_view& tag, std::string_view& word) {
  size_t sp = line.find(' ');
  if (sp == 0 || sp == std::string_view::npos) return false;
  tag = line.substr(0, sp);
  std::string_view rest = line.substr(sp + 1);
  word = rest.substr(0, rest.find(' '));
  return true;
}

// The data is `pattern` or a prefix of it (kMaybe), or starts with it (kYes).
ProbeResult prefix_probe(std::span<const uint8_t> d, std::string_view pattern) {
  size_t n = std::min(d.size(), pattern.size());
  if (std::string_view(reinterpret_cast<const char*>(d.data()), n) != pattern.substr(0, n))
    return ProbeResult::kNo;
  return n == pattern.size() ? ProbeResult::kYes : ProbeResult::kMaybe;
}

}  // namespace

ProbeResult probe_imap(std::span<const uint8_t> d, Direction dir, uint16_t) {
  // The server speaks first: its greeting is "* OK" or "* PREAUTH" (RFC 9051 7.1).
  if (dir != Direction::kToClient) return ProbeResult::kNo;
  ProbeResult ok = prefix_probe(d, "* OK ");
  if (ok != ProbeResult::kNo) return ok;
  return prefix_probe(d, "* PREAUTH ");
}

ProbeResult probe_xmpp(std::span<const uint8_t> d, Direction, uint16_t) {
  std::string_view s(reinterpret_cast<const char*>(d.data()), d.size());
  auto skip_ws = [&] {
    while (!s.empty() && (s[0] == ' ' || s[0] == '\r' || s[0] == '\n' || s[0] == '\t'))
      s.remove_prefix(1);
  };
  constexpr size_t kMaxProbe = 1024;
  skip_ws();
  if (s.empty()) return ProbeResult::kMaybe;
  if (prefix_probe({reinterpret_cast<const uint8_t*>(s.data()), s.size()}, "<?xml") ==
      ProbeResult::kMaybe)
    return ProbeResult::kMaybe;
  if (s.starts_with("<?xml")) {
    size_t end = s.find("?>");
    if (end == std::string_view::npos)
      return d.size() < kMaxProbe ? ProbeResult::kMaybe : ProbeResult::kNo;
    s.remove_prefix(end + 2);
    skip_ws();
  }
  ProbeResult r =
      prefix_probe({reinterpret_cast<const uint8_t*>(s.data()), s.size()}, "<stream:stream ");
  if (r != ProbeResult::kYes) return r;
  // Client-to-server or server-to-server XMPP, not any XML stream.
  size_t close = s.find('>');
  size_t ns = s.find("'jabber:");
  if (ns == std::string_view::npos) ns = s.find("\"jabber:");
  if (ns != std::string_view::npos && (close == std::string_view::npos || ns < close))
    return ProbeResult::kYes;
  if (close != std::string_view::npos || d.size() >= kMaxProbe) return ProbeResult::kNo;
  return ProbeResult::kMaybe;
}

StartTlsSession::StartTlsSession(const SessionContext& ctx, TextProtocol proto)
    : ctx_(ctx), proto_(proto) {}

void StartTlsSession::on_data(Direction dir, std::span<const uint8_t> data, TimeNs ts) {
  if (tls_) {
    tls_->on_data(dir, data, ts);
    return;
  }
  if (stopped_) return;
  int d = int(dir);
  if (d == 0 && requested_) {
    // The client may not wait for the answer before its ClientHello.
    if (early_client_.size() + data.size() > kMaxEarly) {
      stopped_ = true;
      return;
    }
    early_client_.insert(early_client_.end(), data.begin(), data.end());
    return;
  }
  seen_[d] += data.size();
  if (seen_[d] > kMaxText) {
    stopped_ = true;
    text_[0].clear();
    text_[1].clear();
    return;
  }
  text_[d].append(reinterpret_cast<const char*>(data.data()), data.size());
  if (d == 0)
    client_text(ts);
  else
    server_text(ts);
}

void StartTlsSession::client_text(TimeNs) {
  std::string& t = text_[0];
  if (proto_ == TextProtocol::kImap) {
    size_t start = 0, nl;
    while ((nl = t.find('\n', start)) != std::string::npos) {
      std::string_view line = trim_eol(std::string_view(t).substr(start, nl - start));
      start = nl + 1;
      std::string_view tag, word;
      if (split_tag(line, tag, word) && word.size() == 8 && ascii_istarts_with(word, "STARTTLS")) {
        requested_ = true;
        tag_.assign(tag);
        early_client_.assign(t.begin() + long(start), t.end());
        t.clear();
        return;
      }
    }
    t.erase(0, start);
  } else {
    size_t at = t.find("<starttls");
    if (at != std::string::npos) {
      size_t close = t.find('>', at);
      if (close == std::string::npos) return;  // the element is not complete yet
      requested_ = true;
      early_client_.assign(t.begin() + long(close + 1), t.end());
      t.clear();
      return;
    }
    // Keep a tail in case the element is split across segments.
    if (t.size() > 16) t.erase(0, t.size() - 16);
  }
  if (t.size() > kMaxPending) t.clear();
}

void StartTlsSession::server_text(TimeNs ts) {
  std::string& t = text_[1];
  if (!requested_) {
    // Nothing the server says matters before the client asks; keep only a partial line.
    size_t nl = t.rfind('\n');
    if (nl != std::string::npos) t.erase(0, nl + 1);
    if (t.size() > kMaxPending) t.clear();
    if (proto_ == TextProtocol::kXmpp) t.clear();
    return;
  }
  if (proto_ == TextProtocol::kImap) {
    size_t start = 0, nl;
    while ((nl = t.find('\n', start)) != std::string::npos) {
      std::string_view line = trim_eol(std::string_view(t).substr(start, nl - start));
      start = nl + 1;
      std::string_view tag, word;
      if (!split_tag(line, tag, word) || tag != tag_) continue;
      if (ascii_istarts_with(word, "OK") && word.size() == 2) {
        std::string rest = t.substr(start);
        t.clear();
        upgrade({reinterpret_cast<const uint8_t*>(rest.data()), rest.size()}, ts);
        return;
      }
      // NO / BAD: the connection stays in clear text.
      requested_ = false;
      t.erase(0, start);
      early_client_.clear();
      return;
    }
    t.erase(0, start);
  } else {
    size_t at = t.find("<proceed");
    if (at != std::string::npos) {
      size_t close = t.find('>', at);
      if (close == std::string::npos) return;
      std::string rest = t.substr(close + 1);
      t.clear();
      upgrade({reinterpret_cast<const uint8_t*>(rest.data()), rest.size()}, ts);
      return;
    }
    if (t.find("<failure") != std::string::npos) {
      requested_ = false;
      early_client_.clear();
      t.clear();
      return;
    }
    if (t.size() > 16) t.erase(0, t.size() - 16);
  }
  if (t.size() > kMaxPending) t.clear();
}

void StartTlsSession::upgrade(std::span<const uint8_t> server_rest, TimeNs ts) {
  tls_ = std::make_unique<TlsSession>(ctx_);
  if (!early_client_.empty()) tls_->on_data(Direction::kToServer, early_client_, ts);
  early_client_.clear();
  early_client_.shrink_to_fit();
  text_[0] = std::string();
  text_[1] = std::string();
  if (!server_rest.empty()) tls_->on_data(Direction::kToClient, server_rest, ts);
}

void StartTlsSession::on_gap(Direction dir, uint64_t len, TimeNs ts) {
  if (tls_) {
    tls_->on_gap(dir, len, ts);
    return;
  }
  // The upgrade may have been in the missing bytes: stop rather than misparse TLS as text.
  stopped_ = true;
}

void StartTlsSession::on_close(TimeNs ts) {
  if (tls_) tls_->on_close(ts);
}

namespace {
std::unique_ptr<AppSession> create_imap(const SessionContext& ctx) {
  return std::make_unique<StartTlsSession>(ctx, TextProtocol::kImap);
}
std::unique_ptr<AppSession> create_xmpp(const SessionContext& ctx) {
  return std::make_unique<StartTlsSession>(ctx, TextProtocol::kXmpp);
}
// Each keeps its own x509.log cache per worker (a certificate seen both after STARTTLS and
// in plain TLS is logged once by each).
const Registration<AnalyzerApi> imap_registration{{.name = "imap",
                                                   .tcp = true,
                                                   .udp = false,
                                                   .probe = &probe_imap,
                                                   .create = &create_imap,
                                                   .make_worker_state = &make_worker_state}};
// Suricata has no XMPP parser: its app_proto stays unset there, ours names the protocol.
const Registration<AnalyzerApi> xmpp_registration{{.name = "xmpp",
                                                   .tcp = true,
                                                   .udp = false,
                                                   .probe = &probe_xmpp,
                                                   .create = &create_xmpp,
                                                   .make_worker_state = &make_worker_state}};
}  // namespace

}  // namespace komainu::tls
