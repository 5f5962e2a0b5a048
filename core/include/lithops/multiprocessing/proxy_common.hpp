// Pieces shared by the Manager proxies (DictProxy, ListProxy, NamespaceProxy) and shared memory
// (SharedMemory, ShareableList): the Python exceptions they raise and the item codec.
//
// The exceptions mirror Python's builtins and derive from mp::Error (FileExistsError and
// FileNotFoundError from mp::OSError, as in Python). They cross from a worker to the driver as
// their own type.
#pragma once

#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include "lithops/multiprocessing/errors.hpp"

namespace lithops::multiprocessing {

// A missing dict key (dict[k], del, pop without default, popitem on an empty dict).
class KeyError : public Error {
 public:
  using Error::Error;
};
// A list index out of range (and pop from an empty list).
class IndexError : public Error {
 public:
  using Error::Error;
};
// A missing Namespace attribute.
class AttributeError : public Error {
 public:
  using Error::Error;
};
// A container changed size during a live iteration (Python's RuntimeError).
class RuntimeError : public Error {
 public:
  using Error::Error;
};
// SharedMemory(name, create=true) of a name that exists.
class FileExistsError : public OSError {
 public:
  using OSError::OSError;
};
// Attaching to, or unlinking, a SharedMemory/ShareableList name that does not exist.
class FileNotFoundError : public OSError {
 public:
  using OSError::OSError;
};

namespace detail {

// Items, keys and values travel as their Boost.JSON text. Equality on the server (list remove,
// index, count, dict keys) is equality of that text, which is equality of the values for
// numbers, strings, bools, vectors, std::map and described structs (not for unordered
// containers, whose text order is unspecified).
template <class T>
std::string encode(const T& v) {
  return boost::json::serialize(boost::json::value_from(v));
}

template <class T>
T decode(std::string_view text, const char* what) {
  try {
    return boost::json::value_to<T>(boost::json::parse(text));
  } catch (const Error&) {
    throw;  // e.g. FileNotFoundError attaching a nested handle
  } catch (const std::exception& e) {
    throw TypeError(std::string(what) + " does not convert to the requested type: " + e.what() +
                    " (stored: " + std::string(text.substr(0, 200)) + ")");
  }
}

}  // namespace detail
}  // namespace lithops::multiprocessing
