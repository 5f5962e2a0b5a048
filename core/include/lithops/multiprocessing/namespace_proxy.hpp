// mp::NamespaceProxy: Python's manager.Namespace(), typed attributes by name, stored as one Redis
// hash (name -> JSON text). Made by mp::Manager::Namespace().
//
//   auto ns = manager.Namespace();
//   ns.set("x", 1);                 // one round trip (HSET + EXPIRE pipelined)
//   int x = ns.get<int>("x");       // one round trip; mp::AttributeError if missing
//
// As in Python, a name starting with '_' is local to this handle (not shared, not sent with it:
// MG-09). Values may be other proxies or shared objects (their handles are stored). Every call may
// throw mp::OSError if the store is unreachable; get() throws mp::TypeError when the value does not
// convert to T. Thread-safe for shared names.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lithops/multiprocessing/proxy_common.hpp"
#include "lithops/multiprocessing/shared_object.hpp"

namespace lithops::multiprocessing {
namespace detail {
ObjectRef namespace_create();
std::optional<std::string> namespace_get(const ObjectRef& ref, std::string_view name);
void namespace_set(const ObjectRef& ref, std::string_view name, std::string_view value);
bool namespace_del(const ObjectRef& ref, std::string_view name);
std::vector<std::pair<std::string, std::string>> namespace_items(const ObjectRef& ref);
}  // namespace detail

class NamespaceProxy {
 public:
  // A new, empty namespace; prefer Manager::Namespace() so the manager deletes it.
  NamespaceProxy() : ref_(detail::namespace_create()) {}

  template <class T>
  void set(std::string_view name, const T& value) {
    if (is_local(name)) {
      (*local_)[std::string(name)] = detail::encode(value);
    } else {
      detail::namespace_set(ref_, name, detail::encode(value));
    }
  }
  // The attribute `name` as T; mp::AttributeError if it is not set.
  template <class T>
  T get(std::string_view name) const {
    return detail::decode<T>(text(name), "a Namespace attribute");
  }
  // Python's hasattr(ns, name).
  bool has(std::string_view name) const {
    if (is_local(name)) return local_->count(std::string(name)) > 0;
    return detail::namespace_get(ref_, name).has_value();
  }
  // Python's del ns.name; mp::AttributeError if it is not set.
  void del(std::string_view name) {
    const bool had =
        is_local(name) ? local_->erase(std::string(name)) > 0 : detail::namespace_del(ref_, name);
    if (!had)
      throw AttributeError("'Namespace' object has no attribute '" + std::string(name) + "'");
  }
  // The shared attributes, sorted by name, as JSON text.
  std::vector<std::pair<std::string, std::string>> items() const {
    return detail::namespace_items(ref_);
  }
  // Python's repr: "Namespace(a=1, name=\"Bob\")" (values as JSON; '_' names left out).
  std::string repr() const {
    std::string out = "Namespace(";
    bool first = true;
    for (const auto& [k, v] : items()) {
      out += (first ? "" : ", ") + k + "=" + v;
      first = false;
    }
    return out + ")";
  }

  friend void tag_invoke(boost::json::value_from_tag, boost::json::value& jv,
                         const NamespaceProxy& n) {
    jv = n.ref_.to_json();
  }
  friend NamespaceProxy tag_invoke(boost::json::value_to_tag<NamespaceProxy>,
                                   const boost::json::value& jv) {
    return NamespaceProxy(detail::ObjectRef::attach(jv, "namespace"));
  }

  const detail::ObjectRef& ref() const { return ref_; }

 private:
  explicit NamespaceProxy(detail::ObjectRef ref) : ref_(std::move(ref)) {}
  static bool is_local(std::string_view name) { return !name.empty() && name[0] == '_'; }
  std::string text(std::string_view name) const {
    if (is_local(name)) {
      auto it = local_->find(std::string(name));
      if (it != local_->end()) return it->second;
    } else if (auto v = detail::namespace_get(ref_, name)) {
      return std::move(*v);
    }
    throw AttributeError("'Namespace' object has no attribute '" + std::string(name) + "'");
  }

  detail::ObjectRef ref_;
  std::shared_ptr<std::map<std::string, std::string>> local_ =
      std::make_shared<std::map<std::string, std::string>>();
};

}  // namespace lithops::multiprocessing
