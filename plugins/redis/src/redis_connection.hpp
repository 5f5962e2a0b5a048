// One hiredis connection: connect + AUTH/SELECT handshake, socket timeouts, reply conversion.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lithops/sdk/state_store.hpp"
#include "redis_config.hpp"
#include "redis_tls.hpp"

namespace lithops::plugins::redis {

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyDeleter {
  void operator()(void* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// Converts a hiredis reply tree into the SDK's Reply.
sdk::Reply to_reply(const redisReply& r);

class Connection {
 public:
  // Connects (with TLS when `tls` is given) and authenticates. Throws sdk::ConnectionError
  // naming `address` and the fix, or sdk::ConfigError when the server rejects `db`.
  static Connection open(const RedisConfig& config, const std::string& address,
                         const TlsContext* tls = nullptr);

  Connection() = default;
  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;

  redisContext* get() const { return ctx_.get(); }
  explicit operator bool() const { return ctx_ != nullptr; }

  // Bounds every socket read/write from now on. A syscall only when the value changes.
  // False on failure (errno set; see fail()).
  bool set_timeout(std::chrono::milliseconds timeout);

  // Adds one command to the output buffer (no I/O).
  void append(int argc, const char** argv, const std::size_t* lens);
  // Sends the output buffer. False on a transport failure (errno set; see fail()).
  bool flush();
  // Waits for the next reply; nullptr on a transport failure (errno set; see fail()).
  ReplyPtr read_reply();
  // Waits for the next reply into `out`; a bulk string goes into `dest` instead, read from the
  // socket straight into it (see sdk::StateStore::execute_pipeline_into). False on a transport
  // failure (errno set; see fail()).
  bool read_reply_into(std::span<std::byte> dest, sdk::Reply& out);
  // Reads what the socket has (blocking up to the timeout) into hiredis' reader. False on a
  // transport failure (errno set; see fail()).
  bool fill();
  // Bytes already received but not yet in hiredis' reader (decrypted TLS data), so poll() on the
  // socket would not see them.
  bool buffered() const { return tls_ != nullptr && tls_->pending(); }
  // append + flush + read_reply: one round trip.
  ReplyPtr command(int argc, const char** argv, const std::size_t* lens);

  // Throws sdk::ConnectionError describing a transport failure; `saved_errno` is errno right
  // after the failing call (EAGAIN there means the socket timeout expired).
  [[noreturn]] void fail(int saved_errno, const std::string& address, const char* during) const;

 private:
  std::unique_ptr<redisContext, ContextDeleter> ctx_;
  std::unique_ptr<TlsStream> tls_;         // declared after ctx_: freed before the socket closes
  std::chrono::milliseconds timeout_{-1};  // what the socket has now; -1: unknown
  // Commands are encoded here and sent by us rather than by hiredis: hiredis 0.14 uses write(),
  // which raises SIGPIPE (fatal by default) when the server has gone; send() can say
  // MSG_NOSIGNAL. Reused across commands so the hot path does not allocate.
  std::string out_;
};

// Calls fn(argc, argv, argvlen) with pointer/length arrays for `args` (anything with data() and
// size()), on the stack for short commands so the hot path does not allocate.
template <typename Arg, typename Fn>
decltype(auto) with_argv(std::span<const Arg> args, Fn&& fn) {
  constexpr std::size_t kInline = 8;
  const char* argv_inline[kInline];
  std::size_t lens_inline[kInline];
  std::vector<const char*> argv_heap;
  std::vector<std::size_t> lens_heap;
  const char** argv = argv_inline;
  std::size_t* lens = lens_inline;
  if (args.size() > kInline) {
    argv_heap.resize(args.size());
    lens_heap.resize(args.size());
    argv = argv_heap.data();
    lens = lens_heap.data();
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    // An empty string_view may have a null data(); hiredis would memcpy from it.
    argv[i] = args[i].data() != nullptr ? args[i].data() : "";
    lens[i] = args[i].size();
  }
  return fn(static_cast<int>(args.size()), argv, lens);
}

}  // namespace lithops::plugins::redis
