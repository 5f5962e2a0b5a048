// Helpers shared by the localhost executor tests: a recording listener, a temp directory,
// executors built from JSON, and bounded waits (a failing test never hangs).
#pragma once

#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "lithops/sdk/executor.hpp"
#include "local_executor.hpp"

namespace lithops::localhost::test {

using namespace std::chrono_literals;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

struct LostInvocation {
  std::string id;
  int status;
  std::string reason;
};

class RecordingListener : public sdk::ExecutorListener {
 public:
  void on_invocation_lost(const std::string& id, int status, const std::string& reason) override {
    std::lock_guard lock(mutex_);
    lost_.push_back({id, status, reason});
    changed_.notify_all();
  }

  std::optional<LostInvocation> wait_for(const std::string& id,
                                         std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    std::optional<LostInvocation> found;
    changed_.wait_for(lock, timeout, [&] {
      for (const auto& l : lost_) {
        if (l.id == id) found = l;
      }
      return found.has_value();
    });
    return found;
  }

  std::vector<LostInvocation> all() {
    std::lock_guard lock(mutex_);
    return lost_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<LostInvocation> lost_;
};

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "lithops-local-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::unique_ptr<LocalExecutor> make_executor(const std::string& section_json,
                                                    sdk::ExecutorListener* listener) {
  const boost::json::object section = boost::json::parse(section_json).as_object();
  const boost::json::object config;
  sdk::PluginContext context;
  context.config = &config;
  context.section = &section;
  context.plugin_name = "localhost";
  auto executor = std::make_unique<LocalExecutor>(context);
  executor->set_listener(listener);
  return executor;
}

template <typename Predicate>
bool wait_until(Predicate predicate, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

inline std::optional<std::string> read_file_within(const std::string& path,
                                                   std::chrono::milliseconds timeout = 10s) {
  std::optional<std::string> text;
  wait_until(
      [&] {
        std::ifstream in(path, std::ios::binary);
        if (!in) return false;
        std::string all;
        char buffer[4096];
        while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
          all.append(buffer, static_cast<std::size_t>(in.gcount()));
        }
        text = std::move(all);
        return true;
      },
      timeout);
  return text;
}

inline bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

// False once the process has exited, even while it is a zombie nobody has reaped yet.
inline bool process_running(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

inline bool process_gone_within(pid_t pid, std::chrono::milliseconds timeout) {
  return wait_until([&] { return !process_exists(pid); }, timeout);
}

}  // namespace lithops::localhost::test
