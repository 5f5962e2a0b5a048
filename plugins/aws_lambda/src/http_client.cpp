#include "http_client.hpp"

#include <curl/curl.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cstdio>
#include <future>
#include <random>
#include <stdexcept>

namespace lithops::aws {

namespace {

// curl_global_init is not thread-safe in every libcurl; doing it once before any client exists
// keeps it away from other threads.
//
// OpenSSL is told not to clean itself up at exit: its atexit handler would run before the core's
// (which stops the executor and so this client's thread), leaving that thread to sign with a
// torn-down library and leaking its per-thread state. The plugin is never unloaded, so the
// process's exit reclaims OpenSSL's memory anyway.
void global_init() {
  static const bool ok = OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr) == 1 &&
                         curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!ok) throw std::runtime_error("libcurl initialisation failed");
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::chrono::milliseconds backoff(const RetryPolicy& policy, int retry) {
  // "Equal jitter": half the exponential step is kept, half is random, so throttled clients
  // spread out but none retries immediately.
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const auto step =
      std::min<long long>(policy.cap.count(), policy.base.count() << std::min(retry, 20));
  std::uniform_int_distribution<long long> jitter(0, std::max<long long>(step / 2, 0));
  return std::chrono::milliseconds(step / 2 + jitter(rng));
}

}  // namespace

struct HttpClient::Transfer {
  std::uint64_t id = 0;
  HttpRequest request;
  HttpRequest sent;  // the prepared copy of the current attempt (curl points into it)
  RetryPolicy policy;
  Prepare prepare;
  Done done;
  HttpResponse response;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  char error[CURL_ERROR_SIZE] = {};

  ~Transfer() { release(); }
  void release() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (headers != nullptr) curl_slist_free_all(headers);
    easy = nullptr;
    headers = nullptr;
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* self) {
    static_cast<Transfer*>(self)->response.body.append(data, size * n);
    return size * n;
  }
  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* self) {
    auto& r = static_cast<Transfer*>(self)->response;
    std::string_view line(data, size * n);
    if (line.starts_with("HTTP/")) {
      r.headers.clear();  // a new response (after 100 Continue or a redirect)
    } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
      auto value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      while (!value.empty() &&
             (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
        value.remove_suffix(1);
      }
      r.headers.emplace_back(lower(std::string(line.substr(0, colon))), std::string(value));
    }
    return size * n;
  }
};

std::string HttpResponse::header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return {};
}

bool is_retryable(const HttpResponse& response) {
  if (response.status == 0) return true;  // no response: refused, reset, timed out connecting
  return response.status == 429 || (response.status >= 500 && response.status <= 599);
}

HttpClient::HttpClient(long max_host_connections) {
  global_init();
  multi_ = curl_multi_init();
  if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, max_host_connections);
  thread_ = std::thread([this] { run(); });
}

HttpClient::~HttpClient() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake();
  thread_.join();
  for (auto& [id, t] : transfers_) {
    if (t->easy != nullptr) curl_multi_remove_handle(multi_, t->easy);
    t->release();
  }
  transfers_.clear();
  curl_multi_cleanup(multi_);
}

void HttpClient::wake() { curl_multi_wakeup(multi_); }

std::uint64_t HttpClient::submit(HttpRequest request, RetryPolicy policy, Prepare prepare,
                                 Done done) {
  auto t = std::make_shared<Transfer>();
  t->request = std::move(request);
  t->policy = policy;
  t->prepare = std::move(prepare);
  t->done = std::move(done);
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw std::runtime_error("HTTP client is shutting down");
    t->id = ++next_id_;
    incoming_.push_back(t);
    ++in_flight_;
  }
  wake();
  return t->id;
}

bool HttpClient::abort(std::uint64_t id) {
  {
    std::lock_guard lock(mutex_);
    if (id == 0 || id > next_id_) return false;
    aborts_.push_back(id);
  }
  wake();
  return true;
}

HttpResponse HttpClient::perform(HttpRequest request, RetryPolicy policy, Prepare prepare) {
  auto promise = std::make_shared<std::promise<HttpResponse>>();
  auto future = promise->get_future();
  submit(std::move(request), policy, std::move(prepare),
         [promise](HttpResponse&& r) { promise->set_value(std::move(r)); });
  return future.get();
}

std::size_t HttpClient::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

void HttpClient::start(Transfer& t) {
  t.release();
  const int attempts = t.response.attempts + 1;
  t.response = HttpResponse{};
  t.response.attempts = attempts;
  t.sent = t.request;
  if (t.prepare) t.prepare(t.sent);
  t.easy = curl_easy_init();
  if (t.easy == nullptr) throw std::runtime_error("curl_easy_init failed");
  CURL* e = t.easy;
  curl_easy_setopt(e, CURLOPT_URL, t.sent.url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  // HTTP/2 where TLS negotiates it; wait for a connection that can multiplex rather than opening
  // another one, so a burst of invocations shares one connection.
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10'000L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(t.sent.timeout.count()));
  if (t.sent.method == "GET") {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else {
    if (t.sent.method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, t.sent.method.c_str());
    if (!t.sent.body.empty() || t.sent.method == "POST" || t.sent.method == "PUT") {
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t.sent.body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, t.sent.body.data());
    }
  }
  // No "Expect: 100-continue": it costs a round trip (or a second's wait) on every large body.
  t.headers = curl_slist_append(t.headers, "Expect:");
  for (const auto& [name, value] : t.sent.headers) {
    t.headers = curl_slist_append(t.headers, (name + ": " + value).c_str());
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  curl_multi_add_handle(multi_, e);
}

void HttpClient::start_or_fail(std::uint64_t id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  try {
    start(*it->second);
  } catch (const std::exception& e) {
    // Signing or curl set-up failed: no attempt can succeed, so the request ends here.
    auto t = it->second;
    t->release();
    t->response.status = 0;
    t->response.error = e.what();
    complete(t);
  }
}

void HttpClient::complete(const std::shared_ptr<Transfer>& t) {
  transfers_.erase(t->id);
  {
    std::lock_guard lock(mutex_);
    --in_flight_;
  }
  if (!t->done) return;
  try {
    t->done(std::move(t->response));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lithops: an HTTP completion handler failed: %s\n", e.what());
  }
}

void HttpClient::finish(void* easy, int curl_code) {
  Transfer* raw = nullptr;
  curl_easy_getinfo(static_cast<CURL*>(easy), CURLINFO_PRIVATE, &raw);
  auto it = transfers_.find(raw->id);
  auto t = it->second;
  curl_multi_remove_handle(multi_, t->easy);
  if (curl_code == CURLE_OK) {
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->response.status);
  } else {
    t->response.status = 0;
    t->response.error = t->error[0] != '\0' ? std::string(t->error)
                                            : curl_easy_strerror(static_cast<CURLcode>(curl_code));
  }
  t->release();
  if (is_retryable(t->response) && t->response.attempts <= t->policy.max_retries) {
    retries_.emplace(
        std::chrono::steady_clock::now() + backoff(t->policy, t->response.attempts - 1), t->id);
    return;
  }
  complete(t);
}

void HttpClient::run() {
  // Signing runs on this thread; OpenSSL keeps per-thread state (its error queue) that it frees
  // only when told the thread is done.
  struct OpenSslThreadState {
    ~OpenSslThreadState() { OPENSSL_thread_stop(); }
  } openssl_thread_state;
  for (;;) {
    std::deque<std::shared_ptr<Transfer>> incoming;
    std::vector<std::uint64_t> aborts;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      incoming.swap(incoming_);
      aborts.swap(aborts_);
    }
    for (auto& t : incoming) {
      transfers_.emplace(t->id, t);
      start_or_fail(t->id);
    }
    for (auto id : aborts) {
      auto it = transfers_.find(id);
      if (it == transfers_.end()) continue;
      if (it->second->easy != nullptr) curl_multi_remove_handle(multi_, it->second->easy);
      it->second->release();
      std::erase_if(retries_, [id](const auto& r) { return r.second == id; });
      transfers_.erase(it);
      std::lock_guard lock(mutex_);
      --in_flight_;
    }
    const auto now = std::chrono::steady_clock::now();
    while (!retries_.empty() && retries_.begin()->first <= now) {
      const auto id = retries_.begin()->second;
      retries_.erase(retries_.begin());
      start_or_fail(id);
    }
    int running = 0;
    curl_multi_perform(multi_, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg == CURLMSG_DONE) finish(msg->easy_handle, msg->data.result);
    }
    int timeout_ms = 1000;
    if (!retries_.empty()) {
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
          retries_.begin()->first - std::chrono::steady_clock::now());
      timeout_ms = static_cast<int>(std::clamp<long long>(wait.count(), 0, timeout_ms));
    }
    curl_multi_poll(multi_, nullptr, 0, timeout_ms, nullptr);
  }
}

}  // namespace lithops::aws
