// Observing the session's Redis from a test: the conditions a test waits for instead of sleeping
// ("the waiters are blocked in the server"). Each test binary run by ctest has its own private
// redis-server, so these counts see only this test's clients.
#pragma once

#include <string>

namespace lithops::test {

// Clients blocked in a blocking command (BLPOP, BLMOVE, ...) now: INFO clients' blocked_clients.
long long redis_blocked_clients();

// Waits until at least `n` clients are blocked at once (up to condition_deadline()).
bool wait_for_blocked_clients(long long n);

// REDIS_EXPIRY_TIME is read when a session starts. Ends this process's session (if any: an
// earlier test, --gtest_repeat), sets REDIS_EXPIRY_TIME to `seconds` for the next one (started by
// the next use) and returns the value it replaced, for the test to restore at its end.
long long restart_session_with_expiry(long long seconds);

// SCARD of `key`, e.g. the waiters registered on an Event (ref().key("waiters")).
long long redis_set_size(const std::string& key);

}  // namespace lithops::test
