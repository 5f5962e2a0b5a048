#include "store.hpp"

#include <algorithm>

#include "lithops/multiprocessing/errors.hpp"
#include "lithops/sdk/blocking.hpp"
#include "lithops/sdk/errors.hpp"

namespace lithops::multiprocessing::detail {
namespace {
constexpr std::chrono::milliseconds kCommandTimeout{30000};
// Longest single BLPOP: waits forever are a loop of these, so a dead server surfaces as an error.
constexpr Duration kSlice = std::chrono::seconds(2);
constexpr std::chrono::milliseconds kSliceMargin{5000};

// An error reply to `command`: WrongTypeError for WRONGTYPE, else mp::OSError.
[[noreturn]] void throw_reply_error(const std::string& endpoint, std::string_view command,
                                    const std::string& error) {
  std::string what = endpoint + " answered " + std::string(command) + " with an error: " + error;
  if (error.starts_with("WRONGTYPE")) throw WrongTypeError(std::move(what));
  throw OSError(std::move(what));
}
}  // namespace

std::string seconds_text(Duration d) {
  return sdk::seconds_text(std::chrono::duration_cast<std::chrono::milliseconds>(d));
}

Store::Store(std::unique_ptr<sdk::StateStore> store, long long expiry_seconds)
    : store_(std::move(store)), expiry_(expiry_seconds) {}

sdk::Reply Store::run(std::initializer_list<std::string_view> args) {
  return run(std::span<const std::string_view>(args.begin(), args.size()));
}

sdk::Reply Store::run(std::span<const std::string_view> args) {
  sdk::Reply r;
  try {
    r = store_->execute(args, kCommandTimeout);
  } catch (const sdk::PluginError& e) {
    throw OSError(e.what());
  }
  if (r.is_error()) throw_reply_error(store_->endpoint(), args.empty() ? "" : args[0], r.str);
  return r;
}

std::vector<sdk::Reply> Store::pipeline(std::span<const sdk::Command> commands) {
  try {
    return store_->execute_pipeline(commands, kCommandTimeout);
  } catch (const sdk::PluginError& e) {
    throw OSError(e.what());
  }
}

std::vector<sdk::Reply> Store::pipeline_into(std::span<const sdk::Command> commands,
                                             std::span<const std::span<std::byte>> into) {
  try {
    return store_->execute_pipeline_into(commands, into, kCommandTimeout);
  } catch (const sdk::PluginError& e) {
    throw OSError(e.what());
  }
}

std::optional<sdk::Reply> Store::blocking(
    Timeout timeout, const std::function<std::vector<std::string_view>(const std::string&)>& make,
    const std::function<std::optional<sdk::Reply>()>& last_look) {
  const auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                                : std::chrono::steady_clock::time_point::max();
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    Duration slice = kSlice;
    if (timeout) {
      // A last non-blocking look, so timeout 0 still takes what is there.
      if (now >= deadline) return last_look();
      slice = std::min(slice, deadline - now);
    }
    const std::string secs = seconds_text(slice);
    const std::vector<std::string_view> args = make(secs);
    sdk::Reply r;
    try {
      // The socket timeout only has to outlast the server-side one; the common command timeout
      // does, and keeping one value spares two setsockopt calls around every blocking command.
      r = store_->execute(
          args,
          std::max(kCommandTimeout,
                   std::chrono::duration_cast<std::chrono::milliseconds>(slice) + kSliceMargin));
    } catch (const sdk::PluginError& e) {
      throw OSError(e.what());
    }
    if (r.is_error()) throw_reply_error(store_->endpoint(), args.front(), r.str);
    if (!r.is_nil() && !(r.type == sdk::Reply::Type::kArray && r.elements.empty())) return r;
    if (timeout && std::chrono::steady_clock::now() >= deadline) return std::nullopt;
  }
}

std::optional<std::pair<std::string, std::string>> Store::blpop(std::span<const std::string> keys,
                                                                Timeout timeout) {
  auto r = blocking(
      timeout,
      [&](const std::string& secs) {
        std::vector<std::string_view> args{"BLPOP"};
        args.insert(args.end(), keys.begin(), keys.end());
        args.push_back(secs);
        return args;
      },
      [&]() -> std::optional<sdk::Reply> {
        for (const auto& k : keys) {
          auto one = run({"LPOP", k});
          if (one.type == sdk::Reply::Type::kString) {
            sdk::Reply pair;
            pair.type = sdk::Reply::Type::kArray;
            pair.elements.resize(2);
            pair.elements[0].type = sdk::Reply::Type::kString;
            pair.elements[0].str = k;
            pair.elements[1] = std::move(one);
            return pair;
          }
        }
        return std::nullopt;
      });
  if (!r || r->type != sdk::Reply::Type::kArray || r->elements.size() != 2) return std::nullopt;
  return std::make_pair(std::move(r->elements[0].str), std::move(r->elements[1].str));
}

std::optional<std::pair<std::string, std::vector<std::string>>> Store::blmpop(
    std::span<const std::string> keys, long long count, Timeout timeout) {
  using Result = std::pair<std::string, std::vector<std::string>>;
  if (count <= 1 || no_blmpop_.load(std::memory_order_relaxed)) {
    auto one = blpop(keys, timeout);
    if (!one) return std::nullopt;
    return Result{std::move(one->first), {std::move(one->second)}};
  }
  const std::string n = std::to_string(keys.size());
  const std::string c = std::to_string(count);
  std::optional<sdk::Reply> r;
  try {
    r = blocking(
        timeout,
        [&](const std::string& secs) {
          std::vector<std::string_view> args{"BLMPOP", secs, n};
          args.insert(args.end(), keys.begin(), keys.end());
          args.insert(args.end(), {"LEFT", "COUNT", c});
          return args;
        },
        [&]() -> std::optional<sdk::Reply> {
          std::vector<std::string_view> args{"LMPOP", n};
          args.insert(args.end(), keys.begin(), keys.end());
          args.insert(args.end(), {"LEFT", "COUNT", c});
          auto last = run(std::span<const std::string_view>(args));
          if (last.is_nil()) return std::nullopt;
          return last;
        });
  } catch (const OSError& e) {
    if (std::string_view(e.what()).find("unknown command") == std::string_view::npos) throw;
    no_blmpop_ = true;  // Redis < 7
    return blmpop(keys, 1, timeout);
  }
  // Reply: [key, [v1, v2, ...]].
  if (!r || r->type != sdk::Reply::Type::kArray || r->elements.size() != 2) return std::nullopt;
  Result out{std::move(r->elements[0].str), {}};
  out.second.reserve(r->elements[1].elements.size());
  for (auto& v : r->elements[1].elements) out.second.push_back(std::move(v.str));
  return out;
}

sdk::Reply Store::eval(const Script& script, std::span<const std::string_view> keys,
                       std::span<const std::string_view> args) {
  std::string sha;
  {
    std::lock_guard lock(sha_mutex_);
    auto it = sha_.find(&script);
    if (it != sha_.end()) sha = it->second;
  }
  const std::string nkeys = std::to_string(keys.size());
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (sha.empty()) {
      sha = run({"SCRIPT", "LOAD", script.source}).str;
      std::lock_guard lock(sha_mutex_);
      sha_[&script] = sha;
    }
    std::vector<std::string_view> argv;
    argv.reserve(3 + keys.size() + args.size());
    argv.push_back("EVALSHA");
    argv.push_back(sha);
    argv.push_back(nkeys);
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    sdk::Reply r;
    try {
      r = store_->execute(argv, kCommandTimeout);
    } catch (const sdk::PluginError& e) {
      throw OSError(e.what());
    }
    if (r.is_error() && r.str.rfind("NOSCRIPT", 0) == 0) {
      sha.clear();  // the server forgot it (restart, SCRIPT FLUSH): load again
      continue;
    }
    if (r.is_error()) throw OSError(store_->endpoint() + ": script error: " + r.str);
    return r;
  }
  throw OSError(store_->endpoint() + " keeps forgetting Lua scripts (NOSCRIPT)");
}

std::optional<std::string> Store::blpop(const std::string& key, Timeout timeout) {
  auto r = blpop(std::span<const std::string>(&key, 1), timeout);
  if (!r) return std::nullopt;
  return std::move(r->second);
}

}  // namespace lithops::multiprocessing::detail
