// Start methods and contexts (multiprocessing.get_context / set_start_method), mapped onto
// backends: where Python chooses how a child process is started (fork, spawn, forkserver), this
// library chooses where it runs, so a "start method" is the name of an executor backend
// ("localhost", "aws_lambda", ...). One session runs on one backend: a context is a handle on a
// backend that creates Processes and Pools there, and using a context of another backend than the
// session's raises mp::ValueError instead of silently running elsewhere.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lithops/multiprocessing/pool.hpp"
#include "lithops/multiprocessing/process.hpp"

namespace lithops::multiprocessing {

class Context {
 public:
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // The backend this context stands for.
  const std::string& get_start_method() const noexcept { return method_; }
  // The context itself (ctx.get_context() is ctx).
  Context& get_context() noexcept { return *this; }
  // A context's method is fixed: always raises mp::ValueError, as Python does.
  [[noreturn]] void set_start_method(std::string_view method) const;

  // A Process / Pool on this context's backend; mp::ValueError if the session runs on another.
  template <class... A>
  Process process(A&&... args) const {
    check_usable();
    return Process(std::forward<A>(args)...);
  }
  template <class... A>
  Pool pool(A&&... args) const {
    check_usable();
    return Pool(std::forward<A>(args)...);
  }

 private:
  friend Context& get_context(std::string_view method);
  explicit Context(std::string method) : method_(std::move(method)) {}
  void check_usable() const;
  std::string method_;
};

// The context of `method` (one object per method: get_context(m) is get_context(m)); an empty
// method means the session's. mp::ValueError for a backend whose plugin cannot be found.
Context& get_context(std::string_view method = {});
// The backend of this session: in the driver the configured one (lithops.backend, default
// "localhost"), in a worker the one it runs on.
std::string get_start_method();
// Chooses the backend before the session starts (sets lithops.backend). mp::ValueError for an
// unknown backend, if a method was set before (unless `force`), or once the session runs on
// another backend.
void set_start_method(std::string_view method, bool force = false);
// The backends whose executor plugin this program can load, sorted ("localhost" first).
std::vector<std::string> get_all_start_methods();

}  // namespace lithops::multiprocessing
