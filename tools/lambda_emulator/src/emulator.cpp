// Routing, request authentication and the function management API.
#include "emulator.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <random>

#include "archive.hpp"
#include "base64.hpp"
#include "sigv4.hpp"

namespace lithops::emulator {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kFunctions = "/2015-03-31/functions";
// A 50 MB zip, base64-encoded: what Lambda accepts in a direct upload.
constexpr std::size_t kMaxZipBytes = 50u * 1024 * 1024;

std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// "name", or the last part of an ARN (arn:aws:lambda:region:account:function:name).
std::string function_name_of(std::string_view segment) {
  auto name = url_decode(segment);
  if (name.starts_with("arn:")) {
    const auto at = name.find(":function:");
    if (at != std::string::npos) name = name.substr(at + 10);
    name = name.substr(0, name.find(':'));
  }
  return name;
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '-' && c != '_') return false;
  }
  return true;
}

std::string now_iso() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000+0000", &tm);
  return buf;
}

std::optional<json::object> parse_object(const std::string& body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return v.as_object();
}

}  // namespace

Response json_response(int status, const json::object& body) {
  return {status, {{"Content-Type", "application/json"}}, json::serialize(body)};
}

Response error_response(int status, const std::string& type, const std::string& message) {
  Response r = json_response(status, {{"Type", "User"}, {"message", message}});
  r.headers.emplace_back("X-Amzn-ErrorType", type);
  return r;
}

std::string new_request_id() {
  static std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx";
  for (auto& c : id) {
    if (c == 'x' || c == 'y') c = kHex[rng() & 15];
  }
  return id;
}

Emulator::Emulator(Options options, EventLoop& loop) : options_(std::move(options)), loop_(loop) {
  if (options_.work_dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "lithops-lambda-emulator-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a temp dir");
    options_.work_dir = pattern;
    own_work_dir_ = true;
  }
  fs::create_directories(options_.work_dir);
  port_ = loop_
              .listen(options_.address, options_.port,
                      [this](Request&& r, Respond respond) { handle(std::move(r), respond); })
              .port;
}

Emulator::~Emulator() {
  for (auto& t : extractors_) t.join();
  for (auto& [id, inst] : instances_) {
    if (inst->pid > 0) ::kill(-inst->pid, SIGKILL);
  }
  for (auto& [id, inst] : instances_) {
    if (inst->pid > 0) ::waitpid(inst->pid, nullptr, 0);
    if (inst->pidfd >= 0) {
      loop_.unwatch(inst->pidfd);
      ::close(inst->pidfd);
    }
  }
  std::error_code ec;
  if (own_work_dir_) fs::remove_all(options_.work_dir, ec);
}

void Emulator::handle(Request&& request, Respond respond) {
  const auto path = request.path();
  if (path == "/emulator/stats" && request.method == "GET") {
    respond(json_response(200, {{"invocations", stats_.invocations},
                                {"cold_starts", stats_.cold_starts},
                                {"warm_starts", stats_.warm_starts},
                                {"throttled", stats_.throttled},
                                {"function_errors", stats_.function_errors},
                                {"instances", instances_.size()},
                                {"active", active()}}));
    return;
  }
  if (!authenticate(request, respond)) return;
  if (!path.starts_with(kFunctions)) {
    respond(error_response(404, "UnknownOperationException", "Unknown operation " + path));
    return;
  }
  // Path segments after /2015-03-31/functions.
  std::vector<std::string> parts;
  std::size_t start = kFunctions.size();
  while (start < path.size()) {
    if (path[start] == '/') {
      ++start;
      continue;
    }
    auto end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    parts.push_back(path.substr(start, end - start));
    start = end;
  }
  const auto& m = request.method;
  if (parts.empty()) {
    if (m == "POST") return create_function(request, respond);
    if (m == "GET") return list_functions(request, respond);
  } else {
    const auto name = function_name_of(parts[0]);
    if (parts.size() == 2 && parts[1] == "invocations" && m == "POST") {
      return invoke(name, std::move(request), respond);
    }
    if (parts.size() == 1 && m == "GET") {
      if (auto* fn = find(name, respond)) {
        respond(json_response(
            200, {{"Configuration", fn->config},
                  {"Code", {{"RepositoryType", "S3"}, {"Location", fn->code_dir.string()}}}}));
      }
      return;
    }
    if (parts.size() == 1 && m == "DELETE") return delete_function(name, respond);
    if (parts.size() == 2 && parts[1] == "configuration" && m == "GET") {
      if (auto* fn = find(name, respond)) respond(json_response(200, fn->config));
      return;
    }
    if (parts.size() == 2 && parts[1] == "configuration" && m == "PUT") {
      return update_configuration(name, request, respond);
    }
    if (parts.size() == 2 && parts[1] == "code" && m == "PUT") {
      return update_code(name, request, respond);
    }
  }
  respond(error_response(404, "UnknownOperationException",
                         "Unknown operation " + request.method + " " + path));
}

bool Emulator::authenticate(const Request& request, Respond& respond) {
  if (!options_.check_signatures) return true;
  aws::sigv4::Authorization auth;
  if (!aws::sigv4::parse_authorization(request.header("authorization"), auth)) {
    respond(error_response(403, "MissingAuthenticationTokenException",
                           "Missing Authentication Token: requests must be signed with AWS "
                           "Signature Version 4"));
    return false;
  }
  if (auth.access_key_id != options_.access_key_id) {
    respond(error_response(403, "UnrecognizedClientException",
                           "The security token included in the request is invalid (unknown "
                           "access key id " +
                               auth.access_key_id + ")"));
    return false;
  }
  const auto amz_date = request.header("x-amz-date");
  std::tm tm{};
  if (amz_date.size() != 16 || ::strptime(amz_date.c_str(), "%Y%m%dT%H%M%SZ", &tm) == nullptr ||
      !amz_date.starts_with(auth.date)) {
    respond(error_response(403, "InvalidSignatureException", "missing or malformed X-Amz-Date"));
    return false;
  }
  if (std::abs(std::difftime(::timegm(&tm), std::time(nullptr))) > 15 * 60) {
    respond(error_response(403, "InvalidSignatureException",
                           "Signature expired: " + amz_date +
                               " is more than 15 minutes away "
                               "from the emulator's clock"));
    return false;
  }
  if (auth.region != options_.region || auth.service != "lambda") {
    respond(error_response(403, "InvalidSignatureException",
                           "Credential should be scoped to a valid region (" + options_.region +
                               ") and service (lambda), not " + auth.region + "/" + auth.service));
    return false;
  }
  aws::sigv4::Request r{request.method, request.target, request.headers, {}};
  std::string payload_hash = request.header("x-amz-content-sha256");
  if (payload_hash.empty()) payload_hash = aws::sigv4::sha256_hex(request.body);
  std::string expected;
  try {
    auto creq = aws::sigv4::canonical_request(r, auth.signed_headers, true, payload_hash);
    std::string signed_list;
    for (const auto& h : auth.signed_headers) signed_list += (signed_list.empty() ? "" : ";") + h;
    expected = aws::sigv4::sign_canonical(std::move(creq), signed_list,
                                          {options_.access_key_id, options_.secret_access_key, ""},
                                          amz_date, auth.region, auth.service)
                   .signature;
  } catch (const std::exception& e) {
    respond(error_response(403, "InvalidSignatureException", e.what()));
    return false;
  }
  if (expected != auth.signature) {
    respond(error_response(403, "InvalidSignatureException",
                           "The request signature we calculated does not match the signature "
                           "you provided. Check your AWS Secret Access Key and signing method."));
    return false;
  }
  return true;
}

Emulator::Function* Emulator::find(const std::string& name, Respond& respond) {
  auto it = functions_.find(name);
  if (it == functions_.end()) {
    respond(error_response(404, "ResourceNotFoundException",
                           "Function not found: arn:aws:lambda:" + options_.region +
                               ":000000000000:function:" + name));
    return nullptr;
  }
  return &it->second;
}

namespace {
// Reads Code.ZipFile; answers the error itself and returns nullopt when it is unusable.
std::optional<std::string> zip_of(const json::object& body, Respond& respond) {
  const auto* code = body.if_contains("Code");
  const json::value* zip = nullptr;
  if (code != nullptr && code->is_object()) zip = code->as_object().if_contains("ZipFile");
  if (code == nullptr && body.contains("ZipFile")) zip = body.if_contains("ZipFile");
  if (zip == nullptr || !zip->is_string()) {
    respond(error_response(400, "InvalidParameterValueException",
                           "the emulator deploys only Code.ZipFile (base64 zip) packages; "
                           "S3 and container images are not supported"));
    return std::nullopt;
  }
  auto decoded = aws::base64_decode(zip->as_string());
  if (!decoded) {
    respond(error_response(400, "InvalidParameterValueException", "ZipFile is not valid base64"));
    return std::nullopt;
  }
  if (decoded->size() > kMaxZipBytes) {
    respond(error_response(413, "RequestEntityTooLargeException",
                           "Request must be smaller than 69905067 bytes for the operation"));
    return std::nullopt;
  }
  return decoded;
}
}  // namespace

void Emulator::create_function(const Request& request, Respond& respond) {
  auto body = parse_object(request.body);
  if (!body) {
    respond(error_response(400, "InvalidParameterValueException", "the body is not a JSON object"));
    return;
  }
  const auto* name_v = body->if_contains("FunctionName");
  const std::string name = name_v && name_v->is_string() ? std::string(name_v->as_string()) : "";
  if (!valid_name(name)) {
    respond(error_response(400, "InvalidParameterValueException",
                           "FunctionName must be 1 to 64 letters, digits, '-' or '_'"));
    return;
  }
  if (!body->contains("Role")) {
    respond(error_response(400, "InvalidParameterValueException", "Role is required"));
    return;
  }
  if (functions_.contains(name)) {
    respond(error_response(409, "ResourceConflictException", "Function already exist: " + name));
    return;
  }
  auto zip = zip_of(*body, respond);
  if (!zip) return;
  auto get = [&](const char* key, json::value fallback) {
    const auto* v = body->if_contains(key);
    return v == nullptr ? fallback : *v;
  };
  Function fn;
  fn.config = {
      {"FunctionName", name},
      {"FunctionArn", "arn:aws:lambda:" + options_.region + ":000000000000:function:" + name},
      {"Runtime", get("Runtime", "provided.al2023")},
      {"Role", get("Role", "")},
      {"Handler", get("Handler", "bootstrap")},
      {"CodeSize", zip->size()},
      {"CodeSha256", aws::sha256_base64(*zip)},
      {"Description", get("Description", "")},
      {"Timeout", get("Timeout", 3)},
      {"MemorySize", get("MemorySize", 128)},
      {"LastModified", now_iso()},
      {"Version", "$LATEST"},
      {"Environment", get("Environment", json::object{{"Variables", json::object{}}})},
      {"PackageType", "Zip"},
      {"Architectures", get("Architectures", json::array{"x86_64"})},
      {"State", "Pending"},
      {"StateReason", "The function is being created."},
      {"LastUpdateStatus", "InProgress"}};
  auto reply = fn.config;
  functions_.emplace(name, std::move(fn));
  extract(name, std::move(*zip));
  respond(json_response(201, reply));
}

void Emulator::update_code(const std::string& name, const Request& request, Respond& respond) {
  auto* fn = find(name, respond);
  if (fn == nullptr) return;
  auto body = parse_object(request.body);
  if (!body) {
    respond(error_response(400, "InvalidParameterValueException", "the body is not a JSON object"));
    return;
  }
  if (fn->extracting) {
    respond(error_response(409, "ResourceConflictException",
                           "An update is in progress for resource: " + name));
    return;
  }
  auto zip = zip_of(*body, respond);
  if (!zip) return;
  fn->config["CodeSize"] = zip->size();
  fn->config["CodeSha256"] = aws::sha256_base64(*zip);
  fn->config["LastModified"] = now_iso();
  fn->config["LastUpdateStatus"] = "InProgress";
  extract(name, std::move(*zip));
  respond(json_response(200, fn->config));
}

void Emulator::update_configuration(const std::string& name, const Request& request,
                                    Respond& respond) {
  auto* fn = find(name, respond);
  if (fn == nullptr) return;
  auto body = parse_object(request.body);
  if (!body) {
    respond(error_response(400, "InvalidParameterValueException", "the body is not a JSON object"));
    return;
  }
  for (const char* key :
       {"Role", "Handler", "Timeout", "MemorySize", "Environment", "Description", "Runtime"}) {
    if (const auto* v = body->if_contains(key)) fn->config[key] = *v;
  }
  fn->config["LastModified"] = now_iso();
  // New settings reach new instances only, as in Lambda.
  ++fn->generation;
  retire_instances(name);
  respond(json_response(200, fn->config));
}

void Emulator::delete_function(const std::string& name, Respond& respond) {
  auto* fn = find(name, respond);
  if (fn == nullptr) return;
  for (auto& inv : fn->queue) fail_invocation(inv, "ResourceNotFoundException", "deleted");
  ++fn->generation;
  retire_instances(name);
  functions_.erase(name);
  respond(Response{204, {}, {}});
}

void Emulator::list_functions(const Request& request, Respond& respond) {
  std::size_t max_items = 50;
  std::string marker;
  const auto query = request.query();
  std::size_t start = 0;
  while (start < query.size()) {
    auto end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const auto part = query.substr(start, end - start);
    const auto eq = part.find('=');
    const auto key = part.substr(0, eq);
    const auto value = eq == std::string::npos ? "" : url_decode(part.substr(eq + 1));
    if (key == "MaxItems") max_items = std::clamp<std::size_t>(std::stoul("0" + value), 1, 50);
    if (key == "Marker") marker = value;
    start = end + 1;
  }
  json::array page;
  auto it = marker.empty() ? functions_.begin() : functions_.upper_bound(marker);
  for (; it != functions_.end() && page.size() < max_items; ++it) page.push_back(it->second.config);
  json::object out{{"Functions", std::move(page)}};
  if (it != functions_.end()) out["NextMarker"] = std::prev(it)->first;
  respond(json_response(200, out));
}

void Emulator::extract(const std::string& name, std::string zip) {
  auto& fn = functions_.at(name);
  fn.extracting = true;
  static std::uint64_t counter = 0;
  const fs::path dir = options_.work_dir / name / std::to_string(++counter);
  extractors_.emplace_back([this, name, dir, zip = std::move(zip)] {
    std::string error;
    try {
      fs::remove_all(dir);
      fs::create_directories(dir);
      extract_zip(zip, dir);
    } catch (const std::exception& e) {
      error = e.what();
    }
    loop_.post([this, name, dir, error] {
      auto it = functions_.find(name);
      if (it == functions_.end()) return;  // deleted meanwhile
      auto& f = it->second;
      f.extracting = false;
      if (!error.empty()) {
        f.config["State"] = f.code_dir.empty() ? "Failed" : "Active";
        f.config["LastUpdateStatus"] = "Failed";
        f.config["LastUpdateStatusReason"] = "cannot unpack the zip: " + error;
        f.config["StateReason"] = "cannot unpack the zip: " + error;
        return;
      }
      const fs::path old = f.code_dir;
      f.code_dir = dir;
      ++f.generation;
      f.config["State"] = "Active";
      f.config["LastUpdateStatus"] = "Successful";
      f.config.erase("StateReason");
      f.config.erase("LastUpdateStatusReason");
      retire_instances(name);
      dispatch(name);
      // Old code stays on disk while its instances may still run it; it goes with the work dir.
      (void)old;
    });
  });
}

}  // namespace lithops::emulator
