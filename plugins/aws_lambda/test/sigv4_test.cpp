// The signer against every case of both AWS SigV4 test suites in data/sigv4 beside this file
// (header signing, and query-string signing for aws-c-auth's set). Case lists are read when the
// binary starts (that is what gtest lists); each case reads its files when it runs. A missing data
// directory is a failing case, never a silent skip.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sigv4.hpp"

namespace sigv4 = lithops::aws::sigv4;
namespace fs = std::filesystem;

namespace {

const fs::path kDataDir = LITHOPS_SIGV4_TESTDATA_DIR;
const fs::path kOriginalDir = kDataDir / "aws-sig-v4-test-suite";
const fs::path kCrtDir = kDataDir / "aws-signing-test-suite" / "v4";
constexpr const char* kMissing = "MISSING_TEST_DATA";

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// How a parser joins obsolete folded header lines. RFC 9112 (and aws-c-auth) replace the fold with
// a space; AWS's original suite treats each line as another value of the header (commas).
enum class Folding { kSpace, kComma };

struct RawRequest {
  sigv4::Request request;
  std::string head;  // the request line and header lines, verbatim, without the final newline
};

RawRequest parse(const std::string& text, Folding folding) {
  RawRequest raw;
  const auto blank = text.find("\n\n");
  raw.head = text.substr(0, blank);
  if (!raw.head.empty() && raw.head.back() == '\n') raw.head.pop_back();
  if (blank != std::string::npos) raw.request.body = text.substr(blank + 2);
  std::istringstream lines(raw.head);
  std::string line;
  std::getline(lines, line);
  // The target may contain spaces ("/example space/"): it runs up to the last " HTTP/".
  const auto sp = line.find(' ');
  const auto proto = line.rfind(" HTTP/");
  raw.request.method = line.substr(0, sp);
  raw.request.target = line.substr(sp + 1, proto - sp - 1);
  while (std::getline(lines, line)) {
    if ((line.front() == ' ' || line.front() == '\t') && !raw.request.headers.empty()) {
      auto& value = raw.request.headers.back().second;
      value += folding == Folding::kSpace ? " " : ",";
      value += line.substr(line.find_first_not_of(" \t"));
      continue;
    }
    const auto colon = line.find(':');
    raw.request.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  return raw;
}

std::vector<std::string> list_cases(const fs::path& dir, bool original) {
  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return {kMissing};
  for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
    if (!entry.is_directory()) continue;
    const auto name = entry.path().filename().string();
    const bool is_case = original ? fs::exists(entry.path() / (name + ".req"))
                                  : fs::exists(entry.path() / "context.json");
    if (is_case) names.push_back(fs::relative(entry.path(), dir).string());
  }
  std::sort(names.begin(), names.end());
  return names.empty() ? std::vector<std::string>{kMissing} : names;
}

std::string test_name(const testing::TestParamInfo<std::string>& info) {
  std::string n = info.param;
  for (auto& c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n;
}

void fail_if_missing(const std::string& name, const fs::path& dir) {
  if (name == kMissing) {
    FAIL() << "SigV4 test vectors not found in " << dir
           << ". They are part of the repository (plugins/aws_lambda/test/data/sigv4, see its "
              "README.md); restore them from a clean checkout.";
  }
}

const sigv4::Credentials kCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                      ""};

// --- AWS's original suite: requests carry X-Amz-Date; every header they carry is signed. -------

class OriginalSuite : public testing::TestWithParam<std::string> {};

TEST_P(OriginalSuite, MatchesEveryStep) {
  fail_if_missing(GetParam(), kOriginalDir);
  const fs::path dir = kOriginalDir / GetParam();
  const std::string base = (dir / dir.filename()).string();
  const bool multiline = dir.filename() == "get-header-value-multiline";
  auto raw = parse(read(base + ".req"), multiline ? Folding::kComma : Folding::kSpace);
  auto credentials = kCredentials;
  sigv4::Options options;
  options.region = "us-east-1";
  options.service = "service";
  if (dir.filename() == "post-sts-header-after") {
    // The token is added after signing; the signed request shows its value.
    const auto sreq = read(base + ".sreq");
    const std::string key = "X-Amz-Security-Token:";
    const auto at = sreq.find(key) + key.size();
    credentials.session_token = sreq.substr(at, sreq.find('\n', at) - at);
    options.omit_session_token = true;
  }
  const auto head_size = raw.request.headers.size();
  const auto s = sigv4::sign(raw.request, credentials, options);
  EXPECT_EQ(s.canonical_request, read(base + ".creq"));
  EXPECT_EQ(s.string_to_sign, read(base + ".sts"));
  EXPECT_EQ(s.authorization, read(base + ".authz"));
  // Signed request: the original head, the headers the signer added, then the body.
  std::string signed_request = raw.head;
  for (auto i = head_size; i < raw.request.headers.size(); ++i) {
    const auto& [n, v] = raw.request.headers[i];
    signed_request += "\n" + n + (n == "Authorization" ? ": " : ":") + v;
  }
  if (!raw.request.body.empty()) signed_request += "\n\n" + raw.request.body;
  EXPECT_EQ(signed_request, read(base + ".sreq"));
}

INSTANTIATE_TEST_SUITE_P(Sigv4, OriginalSuite, testing::ValuesIn(list_cases(kOriginalDir, true)),
                         test_name);

// --- aws-c-auth's v4 suite: a context.json per case; the signer adds the date itself. -----------

// One aws-c-auth case's context.json: its credentials and signing options. The header cases also
// take `sign_body` (x-amz-content-sha256); the presigned (query) cases never sign it.
struct CrtContext {
  fs::path dir;
  boost::json::object json;
  sigv4::Credentials credentials;
  sigv4::Options options;
};

CrtContext load_crt_context(const std::string& name, bool header_signing) {
  fail_if_missing(name, kCrtDir);
  CrtContext c;
  c.dir = kCrtDir / name;
  c.json = boost::json::parse(read(c.dir / "context.json")).as_object();
  const auto& creds = c.json.at("credentials").as_object();
  c.credentials = {std::string(creds.at("access_key_id").as_string()),
                   std::string(creds.at("secret_access_key").as_string()), ""};
  if (const auto* t = creds.if_contains("token")) c.credentials.session_token = t->as_string();
  // "2015-08-30T12:36:00Z" -> "20150830T123600Z"
  std::string date(c.json.at("timestamp").as_string());
  std::erase(date, '-');
  std::erase(date, ':');
  c.options.region = c.json.at("region").as_string();
  c.options.service = c.json.at("service").as_string();
  c.options.amz_date = date;
  c.options.normalize_path = c.json.at("normalize").as_bool();
  if (header_signing) c.options.sign_body_header = c.json.at("sign_body").as_bool();
  if (const auto* o = c.json.if_contains("omit_session_token")) {
    c.options.omit_session_token = o->as_bool();
  }
  return c;
}

class CrtSuite : public testing::TestWithParam<std::string> {};

TEST_P(CrtSuite, MatchesEveryStep) {
  const auto [dir, context, credentials, options] = load_crt_context(GetParam(), true);
  auto raw = parse(read(dir / "request.txt"), Folding::kSpace);
  const auto head_size = raw.request.headers.size();
  const auto s = sigv4::sign(raw.request, credentials, options);
  EXPECT_EQ(s.canonical_request, read(dir / "header-canonical-request.txt"));
  EXPECT_EQ(s.string_to_sign, read(dir / "header-string-to-sign.txt"));
  EXPECT_EQ(s.signature, read(dir / "header-signature.txt"));
  std::string signed_request = raw.head;
  for (auto i = head_size; i < raw.request.headers.size(); ++i) {
    signed_request += "\n" + raw.request.headers[i].first + ":" + raw.request.headers[i].second;
  }
  signed_request += "\n\n" + raw.request.body;
  EXPECT_EQ(signed_request, read(dir / "header-signed-request.txt"));
}

INSTANTIATE_TEST_SUITE_P(Sigv4, CrtSuite, testing::ValuesIn(list_cases(kCrtDir, false)), test_name);

// The same cases signed in the query string (presigned), against their query-* files.
class CrtQuerySuite : public testing::TestWithParam<std::string> {};

TEST_P(CrtQuerySuite, MatchesEveryStep) {
  const auto [dir, context, credentials, options] = load_crt_context(GetParam(), false);
  const std::chrono::seconds expires(context.at("expiration_in_seconds").to_number<long long>());
  auto raw = parse(read(dir / "request.txt"), Folding::kSpace);
  const auto headers_before = raw.request.headers;
  const auto s = sigv4::presign(raw.request, credentials, options, expires);
  EXPECT_EQ(s.canonical_request, read(dir / "query-canonical-request.txt"));
  EXPECT_EQ(s.string_to_sign, read(dir / "query-string-to-sign.txt"));
  EXPECT_EQ(s.signature, read(dir / "query-signature.txt"));
  EXPECT_TRUE(s.authorization.empty());
  EXPECT_EQ(raw.request.headers, headers_before) << "query signing leaves the headers alone";
  // Signed request: the request line with the new target, then the original header lines.
  const auto eol = raw.head.find('\n');
  const std::string signed_request = raw.request.method + " " + raw.request.target + " HTTP/1.1" +
                                     (eol == std::string::npos ? "" : raw.head.substr(eol)) +
                                     "\n\n" + raw.request.body;
  EXPECT_EQ(signed_request, read(dir / "query-signed-request.txt"));
}

INSTANTIATE_TEST_SUITE_P(Sigv4, CrtQuerySuite, testing::ValuesIn(list_cases(kCrtDir, false)),
                         test_name);

// --- pieces the suites do not pin down ----------------------------------------------------------

TEST(Sigv4Authorization, ParsesWhatSignProduces) {
  sigv4::Request r{"POST", "/2015-03-31/functions/f/invocations", {{"Host", "h:1"}}, "{}"};
  sigv4::Options options;
  options.region = "eu-west-1";
  options.service = "lambda";
  const auto s = sigv4::sign(r, kCredentials, options);
  sigv4::Authorization a;
  ASSERT_TRUE(sigv4::parse_authorization(s.authorization, a));
  EXPECT_EQ(a.access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(a.region, "eu-west-1");
  EXPECT_EQ(a.service, "lambda");
  EXPECT_EQ(a.signed_headers, (std::vector<std::string>{"host", "x-amz-date"}));
  EXPECT_EQ(a.signature, s.signature);
  EXPECT_FALSE(sigv4::parse_authorization("AWS4-HMAC-SHA256 Credential=x", a));
  EXPECT_FALSE(sigv4::parse_authorization("Basic dXNlcjpwYXNz", a));
}

TEST(Sigv4Presign, RefusesAnExpiryOutsideOneSecondToSevenDays) {
  sigv4::Request r{"GET", "/", {{"Host", "h"}}, ""};
  sigv4::Options options;
  options.region = "us-east-1";
  options.service = "lambda";
  EXPECT_THROW(sigv4::presign(r, kCredentials, options, std::chrono::seconds(0)),
               std::invalid_argument);
  EXPECT_THROW(sigv4::presign(r, kCredentials, options, std::chrono::seconds(604801)),
               std::invalid_argument);
  EXPECT_EQ(r.target, "/") << "a refused request is left as it was";
  sigv4::presign(r, kCredentials, options, std::chrono::seconds(604800));
  EXPECT_TRUE(r.target.starts_with("/?X-Amz-Algorithm=AWS4-HMAC-SHA256&")) << r.target;
  EXPECT_NE(r.target.find("&X-Amz-Expires=604800&X-Amz-Signature="), std::string::npos) << r.target;
}

TEST(Sigv4Sign, RefusesARequestWithoutHost) {
  sigv4::Request r{"GET", "/", {}, ""};
  EXPECT_THROW(sigv4::sign(r, kCredentials, sigv4::Options{}), std::invalid_argument);
}

}  // namespace
