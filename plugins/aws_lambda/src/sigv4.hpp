// AWS Signature Version 4 (header and query-string signing) on OpenSSL.
//
// The signer works on the request as it goes on the wire: `target` is the path and query exactly
// as sent, and the canonical URI is that path URI-encoded once more, as every AWS service except
// S3 expects. Callers that build paths from user data (function names) keep them to unreserved
// characters so that no double encoding question arises.
//
// Header values are trimmed and inner runs of whitespace collapsed to one space. Folded
// (multi-line) header values are the HTTP parser's business, not the signer's: ours join folded
// lines with a space (RFC 9112 §5.2), as aws-c-auth does.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lithops::aws::sigv4 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term credentials
};

struct Request {
  std::string method;
  std::string target;                                        // "/path?query", as on the wire
  std::vector<std::pair<std::string, std::string>> headers;  // in sending order; names any case
  std::string body;
};

struct Options {
  std::string region;
  std::string service;
  // "YYYYMMDDTHHMMSSZ"; empty = now.
  std::string amz_date;
  // Remove "." and ".." segments and duplicate slashes before encoding (not for S3).
  bool normalize_path = true;
  // Add and sign x-amz-content-sha256 (S3 wants it; Lambda does not need it).
  bool sign_body_header = false;
  // Add X-Amz-Security-Token after signing instead of signing it (some services want that).
  bool omit_session_token = false;
};

// Every intermediate value, so tests can compare each step and servers can report mismatches.
struct Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;  // lowercase hex
  std::string authorization;
  std::string signed_headers;  // "host;x-amz-date"
};

// Lowercase hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);
// Raw HMAC-SHA256.
std::string hmac_sha256(std::string_view key, std::string_view data);
// "YYYYMMDDTHHMMSSZ" for a time point.
std::string amz_date(std::chrono::system_clock::time_point t);

// URI-encodes everything except unreserved characters (A-Z a-z 0-9 - . _ ~), and '/' when
// `keep_slash`.
std::string uri_encode(std::string_view s, bool keep_slash);
std::string canonical_uri(std::string_view path, bool normalize);
// Decodes each key and value, re-encodes them, sorts by key then value.
std::string canonical_query(std::string_view query);

// The canonical request for `request` signing exactly the headers named in `signed_headers`
// (lowercase names, any order; each must be present). `payload_hash` is hex SHA-256 of the body
// or a literal such as UNSIGNED-PAYLOAD.
std::string canonical_request(const Request& request,
                              const std::vector<std::string>& signed_headers, bool normalize_path,
                              std::string_view payload_hash);

// Computes the signature of `canonical` for the given date and scope.
Signature sign_canonical(std::string canonical, std::string signed_headers,
                         const Credentials& credentials, std::string_view amz_date,
                         std::string_view region, std::string_view service);

// Signs `request` in place: adds X-Amz-Security-Token (if there is a token), X-Amz-Date (unless
// present), x-amz-content-sha256 (with sign_body_header) and Authorization, and signs every header
// it then has except Authorization (and the token with omit_session_token). A Host header must be
// present. Returns the intermediate values.
Signature sign(Request& request, const Credentials& credentials, const Options& options);

// Query-string signing (a presigned URL): appends X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
// X-Amz-SignedHeaders, X-Amz-Expires, X-Amz-Security-Token (if there is a token; signed unless
// omit_session_token) and X-Amz-Signature to request.target, after any query it has. The headers
// are signed as they are (every one but those proxies rewrite) and left unchanged; the payload hash
// is that of the body, and sign_body_header does not apply. `expires` must be 1 s to 7 days
// (std::invalid_argument otherwise, as for a missing Host header). Returns the intermediate
// values; `authorization` stays empty.
Signature presign(Request& request, const Credentials& credentials, const Options& options,
                  std::chrono::seconds expires);

// The parts of an Authorization header, for a server that verifies requests.
struct Authorization {
  std::string access_key_id;
  std::string date;  // YYYYMMDD
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;
  std::string signature;
};
// Returns false if `header` is not a well-formed AWS4-HMAC-SHA256 authorization.
bool parse_authorization(std::string_view header, Authorization& out);

}  // namespace lithops::aws::sigv4
