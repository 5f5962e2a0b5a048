// EXPORT_EXECUTION_DETAILS: per-invocation timestamps, written as JSON and drawn as two SVG
// pictures (a timeline with one bar per invocation coloured by phase, and a histogram of run
// times with the concurrency over time), like Lithops' execution plots.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lithops::multiprocessing::detail {

// Microseconds since the Unix epoch (comparable across processes of one machine).
std::int64_t now_us();

struct InvocationRecord {
  std::string kind;  // "process" or "pool_task"
  std::string name;  // process name, or "<function>[start..end)" for a pool task
  std::string worker;
  bool cold = false;
  std::int64_t submitted = 0;  // driver, before delivery
  std::int64_t delivered = 0;  // worker, payload received
  std::int64_t started = 0;    // worker, function starts
  std::int64_t finished = 0;   // worker, function returned
  std::int64_t received = 0;   // driver, result read
};

// Writes <dir>/<stem>.json, <stem>-timeline.svg and <stem>-histogram.svg. Returns the JSON path.
std::string write_execution_details(const std::string& dir, const std::string& stem,
                                    const std::string& title,
                                    std::vector<InvocationRecord> records);

}  // namespace lithops::multiprocessing::detail
