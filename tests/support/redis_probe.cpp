#include "redis_probe.hpp"

#include <lithops/multiprocessing.hpp>

#include "runtime.hpp"
#include "store.hpp"
#include "timing.hpp"

namespace lithops::test {

long long redis_blocked_clients() {
  const auto reply = multiprocessing::detail::Runtime::get().store().run({"INFO", "clients"});
  return info_field(reply.str, "blocked_clients");
}

bool wait_for_blocked_clients(long long n) {
  return eventually([n] { return redis_blocked_clients() >= n; });
}

long long restart_session_with_expiry(long long seconds) {
  namespace mp = multiprocessing;
  const auto before =
      mp::config::get_parameter(mp::config::REDIS_EXPIRY_TIME).to_number<long long>();
  mp::shutdown();
  mp::config::set_parameter(mp::config::REDIS_EXPIRY_TIME, seconds);
  return before;
}

long long redis_set_size(const std::string& key) {
  return multiprocessing::detail::Runtime::get().store().run({"SCARD", key}).integer;
}

}  // namespace lithops::test
