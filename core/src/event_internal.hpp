// Broadcast wake-ups: the one way a primitive wakes every process waiting for a condition
// (Event::set, JoinableQueue's last task_done), without polling.
//
// A waiter registers a fresh per-waiter list `<base>:w:<id>` in the object's registry SET and
// BLPOPs it with its deadline; the waking script pushes a token onto every registered list and
// empties the registry. Per-waiter lists (rather than one shared list or pub/sub) mean a wake can
// neither be missed by a waiter that registered but has not started its BLPOP yet, nor be taken by
// the wrong waiter. A waiter that is killed leaves a list nobody reads; it expires.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lithops/multiprocessing/shared_object.hpp"
#include "store.hpp"

namespace lithops::multiprocessing::detail {

// Lua helper for scripts that wake: `wake_all(registry_key, ttl)`. Prepend to a script's source.
extern const std::string_view kWakeAllLua;

// Lua helper for "enter" scripts: `register_waiter(registry_key, waiter_key, ttl)`.
extern const std::string_view kRegisterWaiterLua;

// Waits until woken. `enter` is an object-specific script whose KEYS start with
// {registry, waiter} and whose ARGV start with {ttl, register}; it returns 1 when the condition
// already holds (and registers nothing), else registers the waiter (when ARGV[2] is "1") and
// returns 0. Returns true if the condition held or a wake arrived before `timeout`.
bool wait_for_wake(Store& store, const ObjectRef& ref, const Script& enter,
                   std::vector<std::string> extra_keys, Timeout timeout);

}  // namespace lithops::multiprocessing::detail
