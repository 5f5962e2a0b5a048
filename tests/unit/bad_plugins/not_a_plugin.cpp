// A shared library with the right file name but none of the SDK's exports.
extern "C" int lithops_test_not_a_plugin_symbol() { return 42; }
