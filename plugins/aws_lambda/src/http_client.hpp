// An HTTP client for many concurrent requests: one background thread drives a libcurl multi
// handle for every request, so a Pool.map's invocations fly together over kept-alive connections
// (multiplexed on one HTTP/2 connection where the server offers it), without a thread per call.
//
// Requests that fail with 429, a 5xx status or a connection error are retried with exponential
// backoff and jitter, up to RetryPolicy::max_retries times; `prepare` runs before every attempt
// so each one is signed afresh.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace lithops::aws {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{30'000};  // whole request, per attempt; 0 = none
};

struct HttpResponse {
  long status = 0;  // 0 when no response arrived (see error)
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  std::string error;  // transport error text, empty when a response arrived
  int attempts = 0;
  // First value of header `name` (lowercase), empty if absent.
  std::string header(const std::string& name) const;
};

struct RetryPolicy {
  int max_retries = 0;
  std::chrono::milliseconds base{100};
  std::chrono::milliseconds cap{20'000};
};

// Whether a response is worth another attempt: throttled, server error, or no connection.
bool is_retryable(const HttpResponse& response);

class HttpClient {
 public:
  using Prepare = std::function<void(HttpRequest&)>;
  using Done = std::function<void(HttpResponse&&)>;

  // `max_host_connections` caps the connections to one host (0: no cap); requests beyond it wait
  // in libcurl's queue for a free connection.
  explicit HttpClient(long max_host_connections = 0);
  // Abandons requests in flight: their `done` is not called.
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Queues a request and returns at once; `done` runs on the client's thread when the last attempt
  // finished and must not block. Returns an id for abort().
  std::uint64_t submit(HttpRequest request, RetryPolicy policy, Prepare prepare, Done done);
  // Drops a request: its transfer is stopped and `done` is never called. False if unknown.
  bool abort(std::uint64_t id);
  // Submits and waits for the outcome.
  HttpResponse perform(HttpRequest request, RetryPolicy policy = {}, Prepare prepare = {});
  // Requests submitted and not finished.
  std::size_t in_flight() const;

 private:
  struct Transfer;
  void run();
  void start(Transfer& t);
  void start_or_fail(std::uint64_t id);
  void complete(const std::shared_ptr<Transfer>& t);
  void finish(void* easy, int curl_code);
  void wake();

  mutable std::mutex mutex_;
  std::deque<std::shared_ptr<Transfer>> incoming_;
  std::vector<std::uint64_t> aborts_;
  std::size_t in_flight_ = 0;
  bool stopping_ = false;
  std::uint64_t next_id_ = 0;

  // Client thread only.
  void* multi_ = nullptr;
  std::map<std::uint64_t, std::shared_ptr<Transfer>> transfers_;
  std::multimap<std::chrono::steady_clock::time_point, std::uint64_t> retries_;

  std::thread thread_;
};

}  // namespace lithops::aws
