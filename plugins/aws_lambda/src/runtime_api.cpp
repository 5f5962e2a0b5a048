#include "runtime_api.hpp"

#include <curl/curl.h>
#include <openssl/crypto.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdio>
#include <stdexcept>

namespace lithops::aws {

namespace {

constexpr const char* kPrefix = "/2018-06-01/runtime";

struct Reply {
  std::string body;
  std::string request_id;
  std::string deadline_ms;
  std::string trace_id;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* reply) {
  static_cast<Reply*>(reply)->body.append(data, size * n);
  return size * n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* reply) {
  auto* r = static_cast<Reply*>(reply);
  std::string_view line(data, size * n);
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto value = line.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  if (name == "lambda-runtime-aws-request-id") r->request_id = value;
  if (name == "lambda-runtime-deadline-ms") r->deadline_ms = value;
  if (name == "lambda-runtime-trace-id") r->trace_id = value;
  return size * n;
}

}  // namespace

std::string runtime_api_base_url(std::string_view value) {
  if (value.empty()) throw std::invalid_argument("AWS_LAMBDA_RUNTIME_API is empty");
  for (unsigned char c : value) {
    if (c <= ' ' || c == 0x7f) {
      throw std::invalid_argument("AWS_LAMBDA_RUNTIME_API='" + std::string(value) +
                                  "' contains whitespace or control characters");
    }
  }
  std::string url(value);
  if (url.find("://") == std::string::npos) url = "http://" + url;
  while (url.back() == '/') url.pop_back();
  const auto host_start = url.find("://") + 3;
  if (host_start >= url.size() || url[host_start] == '/') {
    throw std::invalid_argument("AWS_LAMBDA_RUNTIME_API='" + std::string(value) +
                                "' names no host");
  }
  return url;
}

RuntimeApiClient::RuntimeApiClient(std::string base_url) : base_(std::move(base_url)) {
  // See http_client.cpp: the watchdog thread may use OpenSSL while the process exits.
  OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  easy_ = curl_easy_init();
  if (easy_ == nullptr) throw std::runtime_error("curl_easy_init failed");
}

RuntimeApiClient::~RuntimeApiClient() { curl_easy_cleanup(easy_); }

std::optional<NextInvocation> RuntimeApiClient::next() {
  CURL* e = easy_;
  Reply reply;
  curl_easy_reset(e);
  const std::string url = base_ + kPrefix + "/invocation/next";
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  // No timeout: Lambda freezes the instance while it waits here, for minutes or hours.
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 0L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &reply);
  const CURLcode rc = curl_easy_perform(e);
  if (rc != CURLE_OK) {
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING) {
      return std::nullopt;
    }
    throw std::runtime_error(std::string("Runtime API next: ") + curl_easy_strerror(rc));
  }
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200 || reply.request_id.empty()) {
    throw std::runtime_error("Runtime API next answered " + std::to_string(status) +
                             (reply.request_id.empty() ? " without a request id" : "") + ": " +
                             reply.body.substr(0, 200));
  }
  NextInvocation inv{std::move(reply.request_id), std::move(reply.body), std::nullopt,
                     std::move(reply.trace_id)};
  if (!reply.deadline_ms.empty()) {
    // A malformed or absurd deadline (beyond the year 2200, where time_point arithmetic would
    // overflow) is ignored rather than failing the invocation.
    try {
      const long long ms = std::stoll(reply.deadline_ms);
      if (ms > 0 && ms < 7'258'118'400'000LL) {
        inv.deadline = std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
      }
    } catch (const std::exception&) {
    }
  }
  return inv;
}

RuntimeApiClient::Result RuntimeApiClient::post(const std::string& path, const std::string& body,
                                                const std::string& error_type) {
  CURL* e = easy_;
  Reply reply;
  curl_easy_reset(e);
  const std::string url = base_ + kPrefix + path;
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 60'000L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &reply);
  curl_slist* headers = curl_slist_append(nullptr, "Expect:");
  headers = curl_slist_append(headers, "Content-Type: application/json");
  if (!error_type.empty()) {
    headers =
        curl_slist_append(headers, ("Lambda-Runtime-Function-Error-Type: " + error_type).c_str());
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
  const CURLcode rc = curl_easy_perform(e);
  curl_slist_free_all(headers);
  Result result;
  if (rc != CURLE_OK) {
    result.error = curl_easy_strerror(rc);
  } else {
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &result.status);
    if (result.status != 202)
      result.error = "HTTP " + std::to_string(result.status) + ": " + reply.body;
  }
  if (!result.error.empty()) {
    std::fprintf(stderr, "lithops aws_lambda worker: POST %s failed: %s\n", path.c_str(),
                 result.error.c_str());
  }
  return result;
}

bool RuntimeApiClient::respond(const std::string& request_id, const std::string& body) {
  return post("/invocation/" + request_id + "/response", body, "").error.empty();
}

namespace {
std::string error_body(const std::string& type, const std::string& message) {
  return boost::json::serialize(boost::json::object{
      {"errorType", type}, {"errorMessage", message}, {"stackTrace", boost::json::array{}}});
}
}  // namespace

bool RuntimeApiClient::fail(const std::string& request_id, const std::string& error_type,
                            const std::string& message) {
  return post("/invocation/" + request_id + "/error", error_body(error_type, message), error_type)
      .error.empty();
}

bool RuntimeApiClient::init_error(const std::string& error_type, const std::string& message) {
  return post("/init/error", error_body(error_type, message), error_type).error.empty();
}

}  // namespace lithops::aws
