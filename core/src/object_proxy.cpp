// ObjectProxy on Redis: the object's state is one STRING at its base key (the JSON of T's
// described data members); the handle's properties carry the typeid and the exposed methods.
#include "lithops/multiprocessing/object_proxy.hpp"

#include "proxy_internal.hpp"

namespace lithops::multiprocessing::detail {

ObjectRef object_create(const std::string& type_id, const std::vector<std::string>& exposed,
                        const std::string& state) {
  ObjectRef ref = ObjectRef::create("object");
  boost::json::array names;
  for (const auto& e : exposed) names.emplace_back(e);
  ref.properties()["typeid"] = type_id;
  ref.properties()["exposed"] = std::move(names);
  object_store(ref, state);
  return ref;
}

ObjectRef object_attach(const boost::json::value& handle) {
  return ObjectRef::attach(handle, "object");
}

std::string object_load(const ObjectRef& ref) {
  auto r = proxy_store().run({"GET", ref.key()});
  if (r.is_nil()) {
    throw ValueError("the " + std::string(ref.properties().at("typeid").as_string()) + " object " +
                     ref.key() + " no longer exists (its manager shut down or it expired)");
  }
  return std::move(r.str);
}

void object_store(const ObjectRef& ref, const std::string& state) {
  auto& s = proxy_store();
  s.run({"SET", ref.key(), state, "EX", s.expiry_text()});
}

void throw_not_exposed(const ObjectRef& ref, std::string_view method) {
  std::string names;
  for (const auto& v : ref.properties().at("exposed").as_array()) {
    names += (names.empty() ? "" : ", ") + std::string(v.as_string());
  }
  throw RemoteError("AttributeError",
                    "method '" + std::string(method) + "' of " +
                        std::string(ref.properties().at("typeid").as_string()) +
                        " object is not in exposed=(" + names + ")",
                    "");
}

void throw_no_method(std::string_view type_id, std::string_view method) {
  throw RemoteError("AttributeError",
                    std::string(type_id) + " has no described method '" + std::string(method) +
                        "' (list it in BOOST_DESCRIBE_STRUCT)",
                    "");
}

}  // namespace lithops::multiprocessing::detail
