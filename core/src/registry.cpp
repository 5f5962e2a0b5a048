#include <dlfcn.h>
#include <cstdio>
#include <cstdlib>

#include <map>
#include <mutex>
#include <sstream>

#include <boost/core/demangle.hpp>

#include "lithops/multiprocessing/errors.hpp"
#include "lithops/multiprocessing/registry.hpp"

namespace lithops::multiprocessing::detail {

namespace {
struct Registry {
  std::mutex mutex;
  std::map<std::string, RegisteredFunction> by_name;
  std::map<AnyFunction, std::string> by_address;
};
Registry& registry() {
  static auto* r = new Registry();  // never destroyed: used by static initialisers and at exit
  return *r;
}
}  // namespace

void register_function(const char* name, AnyFunction fn, Invoker invoker) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.by_name.find(name);
  if (it != r.by_name.end() && it->second.fn != fn) {
    std::fprintf(stderr,
                 "lithops: two different functions are registered under the name '%s'; give "
                 "one of them another name with LITHOPS_FUNCTION_NAMED(\"other\", fn)\n",
                 name);
    std::abort();
  }
  r.by_name[name] = RegisteredFunction{fn, invoker};
  r.by_address.emplace(fn, name);
}

const std::string& function_name(AnyFunction fn, const char* signature) {
  auto& r = registry();
  {
    std::lock_guard lock(r.mutex);
    auto it = r.by_address.find(fn);
    if (it != r.by_address.end()) return it->second;
  }
  // Name the function if the dynamic symbol table knows it, so the message says what to write.
  std::string what = "the function";
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(fn), &info) != 0 && info.dli_sname) {
    what = "function '" + boost::core::demangle(info.dli_sname) + "'";
  }
  std::ostringstream msg;
  msg << what << " (type " << boost::core::demangle(signature)
      << ") is not registered for remote calls: add LITHOPS_FUNCTION(<its name>); at namespace "
         "scope next to its definition (or LITHOPS_FUNCTION_NAMED(\"name\", fn); for a "
         "captureless lambda)";
  throw ValueError(msg.str());
}

RegisteredFunction find_function(const std::string& name) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.by_name.find(name);
  if (it == r.by_name.end()) {
    throw ValueError("function '" + name +
                     "' is not registered in this executable: the worker must be the same "
                     "program as the driver, with LITHOPS_FUNCTION(" +
                     name + ");");
  }
  return it->second;
}

void throw_encoding_error(const std::type_info& type, const std::exception& error) {
  const auto* error_type = &typeid(error);
  throw MaybeEncodingError(boost::core::demangle(error_type->name()) + ": " + error.what(),
                           "a result of type " + boost::core::demangle(type.name()));
}

}  // namespace lithops::multiprocessing::detail
