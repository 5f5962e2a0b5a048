// The opt-in progress bar of the Pool map family and imap (config `lithops.progress: true`):
// tasks done / total, rate and ETA, redrawn in place on stderr at most 10 times a second, and
// only when stderr is a terminal (never in a file or a pipe).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include <boost/json/object.hpp>

namespace lithops::multiprocessing::detail {

class Progress {
 public:
  // A bar for `total` tasks (0: not known yet, as for imap), or nullptr when the config does not
  // ask for one or stderr is not a terminal.
  static std::unique_ptr<Progress> maybe(const boost::json::object& config, std::size_t total,
                                         std::string label);
  Progress(std::size_t total, std::string label);
  ~Progress();  // finish()
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(std::size_t tasks);
  void set_total(std::size_t total);
  // Draws the final state and ends the line, once; later advances draw nothing.
  void finish();

 private:
  void draw(bool final);  // caller holds mutex_

  std::mutex mutex_;
  std::size_t total_, done_ = 0;
  bool finished_ = false;
  std::string label_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace lithops::multiprocessing::detail
