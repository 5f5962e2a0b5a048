// Plugins that cannot load, for `lithops plugins` (tools/cli/test/plugins_test.sh): one variant
// per build, chosen by a compile definition.
//   BROKEN_ABI:     built for SDK ABI version 999 (the loader refuses it: ABI mismatch)
//   BROKEN_SYMBOL:  calls a function no library defines (dlopen: undefined symbol)
//   BROKEN_LIBRARY: needs a shared library that is not on the loader's path (dlopen: cannot open)
#ifdef BROKEN_ABI
#define LITHOPS_SDK_BUILD_ABI_VERSION 999
#endif
#include "lithops/sdk/plugin.hpp"

#ifdef BROKEN_SYMBOL
extern "C" int lithops_test_symbol_defined_nowhere();
extern "C" int lithops_test_uses_missing_symbol() { return lithops_test_symbol_defined_nowhere(); }
#endif
#ifdef BROKEN_LIBRARY
extern "C" int lithops_test_vanished_library_function();
extern "C" int lithops_test_uses_vanished_library() {
  return lithops_test_vanished_library_function();
}
#endif

LITHOPS_PLUGIN_COMMON_(BROKEN_KIND, BROKEN_NAME)
