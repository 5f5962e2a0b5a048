#include "output_stream.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <boost/json.hpp>

#include "lithops/multiprocessing/errors.hpp"

namespace lithops::multiprocessing::detail {
namespace json = boost::json;

OutputCapture::OutputCapture(Store& store, std::string channel, std::string name)
    : store_(store), channel_(std::move(channel)), name_(std::move(name)) {
  std::cout.flush();
  std::fflush(nullptr);
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 ||
      ::pipe2(wake_, O_CLOEXEC) != 0) {
    throw OSError("STREAM_STDOUT: cannot create pipes");
  }
  saved_[0] = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
  saved_[1] = ::fcntl(2, F_DUPFD_CLOEXEC, 3);
  ::dup2(out[1], 1);
  ::dup2(err[1], 2);
  ::close(out[1]);
  ::close(err[1]);
  read_[0] = out[0];
  read_[1] = err[0];
  reader_ = std::thread([this] { pump(); });
}

OutputCapture::~OutputCapture() {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  // Back to the real stdout/stderr; this closes the pipes' write ends held by fds 1 and 2.
  ::dup2(saved_[0], 1);
  ::dup2(saved_[1], 2);
  ::close(saved_[0]);
  ::close(saved_[1]);
  // Children started meanwhile may still hold the write ends: don't wait for EOF, tell the
  // reader to take what is there and stop.
  char c = 'x';
  [[maybe_unused]] auto n = ::write(wake_[1], &c, 1);
  reader_.join();
  for (int fd : {read_[0], read_[1], wake_[0], wake_[1]}) ::close(fd);
}

void OutputCapture::publish(int fd, std::string& pending, bool flush_partial) {
  std::size_t end = flush_partial ? pending.size() : pending.rfind('\n');
  if (end == std::string::npos || pending.empty()) return;
  if (!flush_partial) ++end;  // include the newline
  std::string text = pending.substr(0, end);
  pending.erase(0, end);
  if (flush_partial && !text.empty() && text.back() != '\n') text.push_back('\n');
  try {
    store_.run({"PUBLISH", channel_,
                json::serialize(json::object{{"name", name_}, {"fd", fd}, {"text", text}})});
  } catch (const std::exception& e) {
    // The driver's stream is gone; keep the text on the worker's own stderr rather than lose it.
    ::dprintf(saved_[1], "%s", text.c_str());
  }
}

void OutputCapture::pump() {
  std::string pending[2];
  bool open[2] = {true, true};
  bool stopping = false;
  char buf[65536];
  while (open[0] || open[1]) {
    pollfd fds[3] = {{read_[0], POLLIN, 0}, {read_[1], POLLIN, 0}, {wake_[0], POLLIN, 0}};
    // After the wake-up, drain without waiting: poll with timeout 0 until nothing is left.
    int ready = ::poll(fds, 3, stopping ? 0 : -1);
    if (ready < 0 && errno == EINTR) continue;
    if (fds[2].revents) stopping = true;
    bool got = false;
    for (int i = 0; i < 2; ++i) {
      if (!open[i] || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = ::read(read_[i], buf, sizeof buf);
      if (n > 0) {
        pending[i].append(buf, static_cast<std::size_t>(n));
        publish(i + 1, pending[i], false);
        got = true;
      } else if (n == 0) {
        open[i] = false;
      }
    }
    if (stopping && !got) break;
  }
  for (int i = 0; i < 2; ++i) publish(i + 1, pending[i], true);
}

OutputPrinter::OutputPrinter(sdk::StateStore& store, Store& commands, std::string channel)
    : commands_(commands), channel_(std::move(channel)) {
  std::string channels[] = {channel_};
  subscription_ = store.subscribe(channels);
  thread_ = std::thread([this] { run(); });
}

OutputPrinter::~OutputPrinter() {
  try {
    sync();
  } catch (const std::exception&) {
    // The store is gone; print what arrived.
  }
  stop_ = true;
  thread_.join();
}

void OutputPrinter::sync() {
  unsigned long long n;
  {
    std::lock_guard lock(mutex_);
    n = ++sync_sent_;
  }
  commands_.run({"PUBLISH", channel_, json::serialize(json::object{{"sync", n}})});
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, std::chrono::seconds(10), [&] { return sync_seen_ >= n; });
}

void OutputPrinter::run() {
  while (!stop_) {
    std::optional<sdk::PubSubMessage> m;
    try {
      m = subscription_->next(std::chrono::milliseconds(200));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lithops: output stream lost: %s\n", e.what());
      return;
    }
    if (!m) continue;
    try {
      auto v = json::parse(m->payload).as_object();
      if (auto* s = v.if_contains("sync")) {
        std::lock_guard lock(mutex_);
        sync_seen_ = std::max(sync_seen_, s->to_number<unsigned long long>());
        cv_.notify_all();
        continue;
      }
      const std::string name(v.at("name").as_string());
      const auto& text = v.at("text").as_string();
      const bool err = v.at("fd").to_number<int>() == 2;
      std::string out;
      std::size_t start = 0;
      while (start < text.size()) {
        auto nl = text.find('\n', start);
        if (nl == json::string::npos) nl = text.size() - 1;
        out += "[" + name + (err ? " stderr] " : "] ");
        out.append(text.data() + start, nl - start + 1);
        start = nl + 1;
      }
      std::FILE* f = err ? stderr : stdout;
      std::fwrite(out.data(), 1, out.size(), f);
      std::fflush(f);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lithops: malformed output message: %s\n", e.what());
    }
  }
}

}  // namespace lithops::multiprocessing::detail
