#include "progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace lithops::multiprocessing::detail {
namespace {
constexpr auto kRedraw = std::chrono::milliseconds(100);
constexpr std::size_t kWidth = 30;
}  // namespace

std::unique_ptr<Progress> Progress::maybe(const boost::json::object& config, std::size_t total,
                                          std::string label) {
  const auto* l = config.if_contains("lithops");
  const auto* on = l && l->is_object() ? l->as_object().if_contains("progress") : nullptr;
  if (!on || !on->is_bool() || !on->as_bool() || ::isatty(STDERR_FILENO) != 1) return nullptr;
  return std::make_unique<Progress>(total, std::move(label));
}

Progress::Progress(std::size_t total, std::string label)
    : total_(total), label_(std::move(label)), start_(std::chrono::steady_clock::now()) {
  std::lock_guard lock(mutex_);
  draw(false);
}

Progress::~Progress() { finish(); }

void Progress::finish() {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  draw(true);
}

void Progress::advance(std::size_t tasks) {
  std::lock_guard lock(mutex_);
  done_ += tasks;
  if (!finished_ && std::chrono::steady_clock::now() - last_draw_ >= kRedraw) draw(false);
}

void Progress::set_total(std::size_t total) {
  std::lock_guard lock(mutex_);
  total_ = total;
}

void Progress::draw(bool final) {
  const auto now = std::chrono::steady_clock::now();
  last_draw_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double rate = secs > 0 ? static_cast<double>(done_) / secs : 0;
  char line[256];
  int n;
  if (total_ > 0) {
    const std::size_t filled = std::min(kWidth, done_ * kWidth / total_);
    std::string bar(filled, '#');
    bar.append(kWidth - filled, '.');
    const double eta = rate > 0 ? static_cast<double>(total_ - std::min(done_, total_)) / rate : 0;
    n = std::snprintf(line, sizeof line, "\r%s [%s] %zu/%zu tasks %.1f/s ETA %.0fs%s",
                      label_.c_str(), bar.c_str(), done_, total_, rate, eta, final ? "\n" : "");
  } else {
    n = std::snprintf(line, sizeof line, "\r%s %zu tasks %.1f/s%s", label_.c_str(), done_, rate,
                      final ? "\n" : "");
  }
  if (n > 0) {
    // Best effort: a failed write to the terminal must not fail the map.
    [[maybe_unused]] auto w =
        ::write(STDERR_FILENO, line, std::min(sizeof line - 1, static_cast<std::size_t>(n)));
  }
}

}  // namespace lithops::multiprocessing::detail
