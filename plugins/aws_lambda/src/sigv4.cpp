#include "sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>
#include <stdexcept>

namespace lithops::aws::sigv4 {

namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::string to_hex(const unsigned char* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Trims and collapses inner whitespace runs to one space.
std::string canonical_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool pending_space = false;
  for (char c : v) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string uri_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string header_values(const Request& request, std::string_view name) {
  std::string joined;
  bool found = false;
  for (const auto& [n, v] : request.headers) {
    if (lower(n) != name) continue;
    if (found) joined.push_back(',');
    joined += canonical_value(v);
    found = true;
  }
  if (!found) throw std::invalid_argument("signed header '" + std::string(name) + "' is missing");
  return joined;
}

const std::pair<std::string, std::string>* find_header(const Request& request,
                                                       std::string_view name) {
  for (const auto& h : request.headers) {
    if (lower(h.first) == name) return &h;
  }
  return nullptr;
}

// Headers that proxies and clients rewrite; signing them would break requests in transit.
bool never_signed(std::string_view name) {
  return name == "authorization" || name == "user-agent" || name == "x-amzn-trace-id" ||
         name == "expect" || name == "connection";
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL SHA-256 failed");
  }
  return to_hex(md, n);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &n) == nullptr) {
    throw std::runtime_error("OpenSSL HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(md), n);
}

std::string amz_date(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[20];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 15]);
    }
  }
  return out;
}

std::string canonical_uri(std::string_view path, bool normalize) {
  if (path.empty()) return "/";
  if (!normalize) return uri_encode(path, true);
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const auto seg = path.substr(start, end - start);
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    start = end + 1;
  }
  std::string out;
  for (const auto& seg : segments) {
    out.push_back('/');
    out += seg;
  }
  if (out.empty() || path.back() == '/') out.push_back('/');
  return uri_encode(out, true);
}

std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  std::size_t start = 0;
  while (start < query.size()) {
    auto end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const auto part = query.substr(start, end - start);
    if (!part.empty()) {
      const auto eq = part.find('=');
      const auto key = part.substr(0, eq);
      const auto value = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
      params.emplace_back(uri_encode(uri_decode(key), false), uri_encode(uri_decode(value), false));
    }
    start = end + 1;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

std::string canonical_request(const Request& request,
                              const std::vector<std::string>& signed_headers, bool normalize_path,
                              std::string_view payload_hash) {
  const auto q = request.target.find('?');
  const std::string_view target = request.target;
  std::vector<std::string> names;
  names.reserve(signed_headers.size());
  for (const auto& n : signed_headers) names.push_back(lower(n));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());

  std::string out = request.method;
  out.push_back('\n');
  out += canonical_uri(target.substr(0, q), normalize_path);
  out.push_back('\n');
  if (q != std::string_view::npos) out += canonical_query(target.substr(q + 1));
  out.push_back('\n');
  std::string signed_list;
  for (const auto& n : names) {
    out += n;
    out.push_back(':');
    out += header_values(request, n);
    out.push_back('\n');
    if (!signed_list.empty()) signed_list.push_back(';');
    signed_list += n;
  }
  out.push_back('\n');
  out += signed_list;
  out.push_back('\n');
  out += payload_hash;
  return out;
}

Signature sign_canonical(std::string canonical, std::string signed_headers,
                         const Credentials& credentials, std::string_view amz_date,
                         std::string_view region, std::string_view service) {
  if (amz_date.size() != 16) throw std::invalid_argument("malformed X-Amz-Date");
  const std::string date(amz_date.substr(0, 8));
  const std::string scope =
      date + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  Signature s;
  s.canonical_request = std::move(canonical);
  s.signed_headers = std::move(signed_headers);
  s.string_to_sign = std::string(kAlgorithm) + "\n" + std::string(amz_date) + "\n" + scope + "\n" +
                     sha256_hex(s.canonical_request);
  std::string key = hmac_sha256("AWS4" + credentials.secret_access_key, date);
  key = hmac_sha256(key, region);
  key = hmac_sha256(key, service);
  key = hmac_sha256(key, "aws4_request");
  const std::string mac = hmac_sha256(key, s.string_to_sign);
  s.signature = to_hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
  s.authorization = std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" +
                    scope + ", SignedHeaders=" + s.signed_headers + ", Signature=" + s.signature;
  return s;
}

Signature sign(Request& request, const Credentials& credentials, const Options& options) {
  if (find_header(request, "host") == nullptr) {
    throw std::invalid_argument("a request to sign needs a Host header");
  }
  if (!credentials.session_token.empty() && !find_header(request, "x-amz-security-token")) {
    request.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  std::string date;
  if (const auto* h = find_header(request, "x-amz-date")) {
    date = h->second;
  } else {
    date = options.amz_date.empty() ? amz_date(std::chrono::system_clock::now()) : options.amz_date;
    request.headers.emplace_back("X-Amz-Date", date);
  }
  std::string payload_hash;
  if (const auto* h = find_header(request, "x-amz-content-sha256")) {
    payload_hash = h->second;
  } else {
    payload_hash = sha256_hex(request.body);
    if (options.sign_body_header)
      request.headers.emplace_back("x-amz-content-sha256", payload_hash);
  }
  std::vector<std::string> names;
  for (const auto& [n, v] : request.headers) {
    auto l = lower(n);
    if (never_signed(l) || (options.omit_session_token && l == "x-amz-security-token")) continue;
    names.push_back(std::move(l));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string signed_list;
  for (const auto& n : names) signed_list += (signed_list.empty() ? "" : ";") + n;
  auto creq = canonical_request(request, names, options.normalize_path, payload_hash);
  auto s = sign_canonical(std::move(creq), std::move(signed_list), credentials, date,
                          options.region, options.service);
  request.headers.emplace_back("Authorization", s.authorization);
  return s;
}

Signature presign(Request& request, const Credentials& credentials, const Options& options,
                  std::chrono::seconds expires) {
  if (find_header(request, "host") == nullptr) {
    throw std::invalid_argument("a request to sign needs a Host header");
  }
  if (expires.count() < 1 || expires.count() > 7 * 24 * 3600) {
    throw std::invalid_argument(
        "a presigned request expires after 1 to 604800 seconds (7 days), "
        "not " +
        std::to_string(expires.count()));
  }
  const std::string date =
      options.amz_date.empty() ? amz_date(std::chrono::system_clock::now()) : options.amz_date;
  if (date.size() != 16) throw std::invalid_argument("malformed X-Amz-Date");
  std::vector<std::string> names;
  for (const auto& [n, v] : request.headers) {
    auto l = lower(n);
    if (!never_signed(l)) names.push_back(std::move(l));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string signed_list;
  for (const auto& n : names) signed_list += (signed_list.empty() ? "" : ";") + n;

  const std::string scope =
      date.substr(0, 8) + "/" + options.region + "/" + options.service + "/aws4_request";
  const std::string added =
      "X-Amz-Algorithm=" + std::string(kAlgorithm) +
      "&X-Amz-Credential=" + uri_encode(credentials.access_key_id + "/" + scope, false) +
      "&X-Amz-Date=" + date + "&X-Amz-SignedHeaders=" + uri_encode(signed_list, false) +
      "&X-Amz-Expires=" + std::to_string(expires.count());
  const std::string token =
      credentials.session_token.empty()
          ? std::string()
          : "&X-Amz-Security-Token=" + uri_encode(credentials.session_token, false);
  const auto q = request.target.find('?');
  const char* separator = q == std::string::npos                                         ? "?"
                          : request.target.back() == '?' || request.target.back() == '&' ? ""
                                                                                         : "&";
  Request to_sign = request;
  to_sign.target += separator + added + (options.omit_session_token ? "" : token);
  std::string payload_hash;
  if (const auto* h = find_header(request, "x-amz-content-sha256")) {
    payload_hash = h->second;
  } else {
    payload_hash = sha256_hex(request.body);
  }
  auto creq = canonical_request(to_sign, names, options.normalize_path, payload_hash);
  auto s = sign_canonical(std::move(creq), std::move(signed_list), credentials, date,
                          options.region, options.service);
  s.authorization.clear();
  request.target += separator + added + token + "&X-Amz-Signature=" + s.signature;
  return s;
}

bool parse_authorization(std::string_view header, Authorization& out) {
  if (!header.starts_with(kAlgorithm) || header.size() <= kAlgorithm.size() ||
      header[kAlgorithm.size()] != ' ') {
    return false;
  }
  header.remove_prefix(kAlgorithm.size() + 1);
  std::string credential;
  std::string signed_headers;
  bool have_signature = false;
  while (!header.empty()) {
    while (!header.empty() && (header.front() == ' ' || header.front() == ',')) {
      header.remove_prefix(1);
    }
    const auto end = std::min(header.find(','), header.size());
    const auto part = header.substr(0, end);
    header.remove_prefix(end);
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      if (part.empty()) continue;
      return false;
    }
    const auto key = part.substr(0, eq);
    const auto value = part.substr(eq + 1);
    if (key == "Credential") {
      credential = value;
    } else if (key == "SignedHeaders") {
      signed_headers = value;
    } else if (key == "Signature") {
      out.signature = value;
      have_signature = true;
    }
  }
  // Credential=<key id>/<date>/<region>/<service>/aws4_request
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= credential.size()) {
    auto end = credential.find('/', start);
    if (end == std::string::npos) end = credential.size();
    parts.push_back(credential.substr(start, end - start));
    start = end + 1;
  }
  if (!have_signature || parts.size() != 5 || parts[4] != "aws4_request" ||
      signed_headers.empty()) {
    return false;
  }
  out.access_key_id = parts[0];
  out.date = parts[1];
  out.region = parts[2];
  out.service = parts[3];
  out.signed_headers.clear();
  start = 0;
  while (start <= signed_headers.size()) {
    auto end = signed_headers.find(';', start);
    if (end == std::string::npos) end = signed_headers.size();
    out.signed_headers.push_back(signed_headers.substr(start, end - start));
    start = end + 1;
  }
  return true;
}

}  // namespace lithops::aws::sigv4
