// Remote functions are found by name; an unregistered one is a clear ValueError.
#include <gtest/gtest.h>

#include <lithops/multiprocessing.hpp>

namespace mp = lithops::multiprocessing;

int registered_square(int x) { return x * x; }
LITHOPS_FUNCTION(registered_square);

int never_registered(int x) { return x + 1; }

LITHOPS_FUNCTION_NAMED("lambda_cube", [](int x) { return x * x * x; });

struct MyError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
LITHOPS_EXCEPTION(MyError);

TEST(Registry, FindsNameFromPointerAndPointerFromName) {
  EXPECT_EQ(mp::detail::name_of(registered_square), "registered_square");
  auto fn = mp::detail::find_function("registered_square");
  EXPECT_EQ(fn.invoker(fn.fn, boost::json::array{7}).as_int64(), 49);
}

TEST(Registry, NamedLambdaIsInvocable) {
  auto fn = mp::detail::find_function("lambda_cube");
  EXPECT_EQ(fn.invoker(fn.fn, boost::json::array{3}).as_int64(), 27);
}

TEST(Registry, UnregisteredFunctionIsValueErrorSayingHowToRegister) {
  try {
    mp::detail::name_of(never_registered);
    FAIL() << "expected ValueError";
  } catch (const mp::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("LITHOPS_FUNCTION("), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not registered"), std::string::npos) << e.what();
  }
}

TEST(Registry, ProcessWithUnregisteredFunctionThrowsBeforeStarting) {
  EXPECT_THROW(mp::Process p(never_registered, 1), mp::ValueError);
}

TEST(Registry, UnknownNameInWorkerIsValueError) {
  try {
    mp::detail::find_function("no_such_function");
    FAIL();
  } catch (const mp::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_function"), std::string::npos);
  }
}

// --- remote errors -----------------------------------------------------------------------------
#include "remote_error.hpp"

namespace {
template <class E>
std::exception_ptr round_trip_error(E error) {
  mp::detail::ErrorInfo info;
  try {
    throw error;
  } catch (...) {
    info = mp::detail::capture_current_exception();
  }
  auto json = mp::detail::to_json(info);
  return mp::detail::make_exception(mp::detail::error_from_json(json));
}
struct Unregistered : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace

TEST(RemoteErrors, StandardTypesRethrowAsThemselves) {
  EXPECT_THROW(std::rethrow_exception(round_trip_error(std::out_of_range("idx 9"))),
               std::out_of_range);
  EXPECT_THROW(std::rethrow_exception(round_trip_error(std::invalid_argument("bad"))),
               std::invalid_argument);
  EXPECT_THROW(std::rethrow_exception(round_trip_error(mp::ValueError("v"))), mp::ValueError);
  try {
    std::rethrow_exception(round_trip_error(std::out_of_range("idx 9")));
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "idx 9");
  }
}

TEST(RemoteErrors, RegisteredUserTypeRethrowsAsItself) {
  EXPECT_THROW(std::rethrow_exception(round_trip_error(MyError("mine"))), MyError);
}

TEST(RemoteErrors, UnknownTypeBecomesRemoteErrorWithTypeMessageAndTraceback) {
  try {
    std::rethrow_exception(round_trip_error(Unregistered("strange")));
    FAIL();
  } catch (const mp::RemoteError& e) {
    EXPECT_NE(e.type().find("Unregistered"), std::string::npos) << e.type();
    EXPECT_EQ(e.message(), "strange");
    EXPECT_FALSE(e.traceback().empty());
  }
}
