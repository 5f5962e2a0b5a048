// A shared library a test plugin links against, kept where the loader cannot find it.
extern "C" int lithops_test_vanished_library_function() { return 1; }
