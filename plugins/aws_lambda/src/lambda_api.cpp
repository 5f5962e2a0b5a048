#include "lambda_api.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace lithops::aws {

namespace json = boost::json;

namespace {
constexpr const char* kApiVersion = "/2015-03-31";
}

LambdaApiError::LambdaApiError(long status, std::string type, const std::string& message)
    : std::runtime_error(message), status_(status), type_(std::move(type)) {}

LambdaApi::LambdaApi(const LambdaConfig& config, HttpClient& client)
    : config_(config), client_(client) {
  const auto start = config_.endpoint_url.find("://") + 3;
  const auto slash = config_.endpoint_url.find('/', start);
  host_ = config_.endpoint_url.substr(start, slash - start);
  if (slash != std::string::npos) prefix_ = config_.endpoint_url.substr(slash);
}

void LambdaApi::sign(HttpRequest& request) const {
  const auto start = request.url.find("://") + 3;
  const auto slash = request.url.find('/', start);
  sigv4::Request r{request.method,
                   slash == std::string::npos ? "/" : request.url.substr(slash),
                   {{"Host", host_}},
                   {}};
  for (auto& h : request.headers) r.headers.push_back(std::move(h));
  r.body.swap(request.body);
  sigv4::Options options;
  options.region = config_.region;
  options.service = "lambda";
  sigv4::sign(r, config_.credentials, options);
  request.headers = std::move(r.headers);
  request.body.swap(r.body);
}

RetryPolicy LambdaApi::retry_policy() const {
  return {config_.max_retries, config_.retry_base, config_.retry_cap};
}

HttpRequest LambdaApi::invoke_request(const std::string& function, std::string payload,
                                      InvocationType type) const {
  HttpRequest r;
  r.method = "POST";
  r.url = config_.endpoint_url + kApiVersion + "/functions/" + function + "/invocations";
  r.headers = {
      {"Content-Type", "application/json"},
      {"X-Amz-Invocation-Type", type == InvocationType::kEvent ? "Event" : "RequestResponse"}};
  r.body = std::move(payload);
  // A synchronous invocation answers when the function finishes: allow its whole timeout.
  r.timeout = type == InvocationType::kEvent
                  ? std::chrono::milliseconds(30'000)
                  : std::chrono::milliseconds((config_.timeout + 60) * 1000LL);
  return r;
}

json::object LambdaApi::call(const std::string& method, const std::string& path,
                             const std::string& body) {
  HttpRequest r;
  r.method = method;
  r.url = config_.endpoint_url + path;
  if (!body.empty()) r.headers.emplace_back("Content-Type", "application/json");
  r.body = body;
  r.timeout = std::chrono::milliseconds(300'000);  // a 50 MB upload over a slow link
  const auto response =
      client_.perform(std::move(r), retry_policy(), [this](HttpRequest& req) { sign(req); });
  if (response.status == 0) {
    throw LambdaApiError(
        0, "ConnectionError",
        "cannot reach the Lambda API at " + config_.endpoint_url + ": " + response.error);
  }
  json::value parsed;
  if (!response.body.empty()) {
    boost::system::error_code ec;
    parsed = json::parse(response.body, ec);
    if (ec) parsed = json::object{{"message", response.body.substr(0, 500)}};
  }
  if (response.status < 200 || response.status >= 300) {
    std::string type = response.header("x-amzn-errortype");
    type = type.substr(0, type.find(':'));
    std::string message;
    if (parsed.is_object()) {
      for (const char* key : {"message", "Message", "errorMessage"}) {
        if (const auto* m = parsed.as_object().if_contains(key); m && m->is_string()) {
          message = m->as_string();
          break;
        }
      }
      if (type.empty()) {
        if (const auto* t = parsed.as_object().if_contains("__type"); t && t->is_string()) {
          type = t->as_string();
        }
      }
    }
    throw LambdaApiError(
        response.status, type.empty() ? "HTTP" + std::to_string(response.status) : type,
        method + " " + path + " failed with HTTP " + std::to_string(response.status) +
            (type.empty() ? "" : " " + type) + (message.empty() ? "" : ": " + message));
  }
  return parsed.is_object() ? parsed.as_object() : json::object{};
}

json::object LambdaApi::create_function(const json::object& request) {
  return call("POST", prefix_ + kApiVersion + "/functions", json::serialize(request));
}

json::object LambdaApi::update_function_code(const std::string& function,
                                             const json::object& request) {
  return call("PUT", prefix_ + kApiVersion + "/functions/" + function + "/code",
              json::serialize(request));
}

json::object LambdaApi::update_function_configuration(const std::string& function,
                                                      const json::object& request) {
  return call("PUT", prefix_ + kApiVersion + "/functions/" + function + "/configuration",
              json::serialize(request));
}

json::object LambdaApi::get_function_configuration(const std::string& function) {
  return call("GET", prefix_ + kApiVersion + "/functions/" + function + "/configuration", "");
}

json::object LambdaApi::get_function(const std::string& function) {
  return call("GET", prefix_ + kApiVersion + "/functions/" + function, "");
}

json::array LambdaApi::list_functions() {
  json::array all;
  std::string marker;
  for (;;) {
    std::string path = prefix_ + kApiVersion + "/functions/?MaxItems=50";
    if (!marker.empty()) path += "&Marker=" + sigv4::uri_encode(marker, false);
    auto page = call("GET", path, "");
    if (auto* f = page.if_contains("Functions"); f && f->is_array()) {
      for (auto& fn : f->as_array()) all.push_back(std::move(fn));
    }
    const auto* next = page.if_contains("NextMarker");
    if (next == nullptr || !next->is_string() || next->as_string().empty()) return all;
    marker = next->as_string();
  }
}

void LambdaApi::delete_function(const std::string& function) {
  call("DELETE", prefix_ + kApiVersion + "/functions/" + function, "");
}

}  // namespace lithops::aws
