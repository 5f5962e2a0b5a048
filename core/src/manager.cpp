// mp::Manager (an ObjectScope plus the shared-memory names it must unlink) and NamespaceProxy's
// store calls (one HASH at the object's base key).
#include "lithops/multiprocessing/manager.hpp"

#include <algorithm>
#include <cstdio>

#include "proxy_internal.hpp"

namespace lithops::multiprocessing {

struct Manager::State {
  mutable std::mutex mutex;
  bool running = true;
  std::vector<std::pair<std::string, bool>> shm;  // name, is a ShareableList
};

Manager::Manager() : state_(std::make_unique<State>()) {
  // Connect now, as Python's Manager() starts its server: configuration errors surface here.
  detail::Runtime::get();
}

Manager::~Manager() { shutdown(); }

void Manager::start() { check_running(); }

bool Manager::running() const {
  std::lock_guard lock(state_->mutex);
  return state_->running;
}

void Manager::check_running() const {
  if (!running()) throw ProcessError("the Manager has shut down");
}

void Manager::shutdown() {
  std::vector<std::pair<std::string, bool>> shm;
  {
    std::lock_guard lock(state_->mutex);
    if (!state_->running) return;
    state_->running = false;
    shm.swap(state_->shm);
  }
  scope_.destroy_all();
  for (const auto& [name, is_list] : shm) {
    try {
      if (is_list) {
        detail::ShmListHandle::attach(name).unlink();
      } else {
        ::lithops::multiprocessing::SharedMemory(name).unlink();
      }
    } catch (const FileNotFoundError&) {
      // Unlinked by its user already.
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lithops: could not unlink shared memory %s (it will expire): %s\n",
                   name.c_str(), e.what());
    }
  }
}

::lithops::multiprocessing::SharedMemory Manager::SharedMemory(std::int64_t size) {
  check_running();
  ::lithops::multiprocessing::SharedMemory shm(size);
  adopt_shm(shm.name(), false);
  return shm;
}

void Manager::adopt_shm(const std::string& name, bool list) {
  std::lock_guard lock(state_->mutex);
  state_->shm.emplace_back(name, list);
}

std::size_t Manager::number_of_objects() const { return scope_.size(); }
std::vector<std::string> Manager::keys() const { return scope_.keys(); }

namespace detail {

ObjectRef namespace_create() { return ObjectRef::create("namespace"); }

std::optional<std::string> namespace_get(const ObjectRef& ref, std::string_view name) {
  auto r = proxy_store().run({"HGET", ref.key(), name});
  if (r.is_nil()) return std::nullopt;
  return std::move(r.str);
}

void namespace_set(const ObjectRef& ref, std::string_view name, std::string_view value) {
  auto& s = proxy_store();
  const std::vector<sdk::Command> cmds{{"HSET", ref.key(), std::string(name), std::string(value)},
                                       {"EXPIRE", ref.key(), s.expiry_text()}};
  check_replies(s.pipeline(cmds));
}

bool namespace_del(const ObjectRef& ref, std::string_view name) {
  return proxy_store().run({"HDEL", ref.key(), name}).integer == 1;
}

std::vector<std::pair<std::string, std::string>> namespace_items(const ObjectRef& ref) {
  auto r = proxy_store().run({"HGETALL", ref.key()});
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    out.emplace_back(std::move(r.elements[i].str), std::move(r.elements[i + 1].str));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace detail
}  // namespace lithops::multiprocessing
