// Arguments and results travel as JSON through Boost.JSON value_from / value_to.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <boost/describe.hpp>
#include <boost/json.hpp>

#include <lithops/multiprocessing.hpp>

namespace mp = lithops::multiprocessing;
namespace json = boost::json;

namespace geometry {
struct Point {
  double x = 0;
  double y = 0;
  std::string label;
  bool operator==(const Point&) const = default;
};
BOOST_DESCRIBE_STRUCT(Point, (), (x, y, label))

Point midpoint(Point a, Point b) {
  return Point{(a.x + b.x) / 2, (a.y + b.y) / 2, a.label + b.label};
}
}  // namespace geometry
LITHOPS_FUNCTION(geometry::midpoint);

std::map<std::string, std::vector<int>> histogram(std::vector<std::string> words) {
  std::map<std::string, std::vector<int>> out;
  for (std::size_t i = 0; i < words.size(); ++i) out[words[i]].push_back(static_cast<int>(i));
  return out;
}
LITHOPS_FUNCTION(histogram);

std::tuple<int, std::string, double> triple(int a, std::string b, double c) { return {a, b, c}; }
LITHOPS_FUNCTION(triple);

template <class T>
T round_trip(const T& v) {
  return json::value_to<T>(json::parse(json::serialize(json::value_from(v))));
}

TEST(Serialization, ArithmeticAndStringsRoundTrip) {
  EXPECT_EQ(round_trip(42), 42);
  EXPECT_EQ(round_trip(-7LL), -7LL);
  EXPECT_EQ(round_trip(std::uint64_t{1} << 63), std::uint64_t{1} << 63);
  EXPECT_DOUBLE_EQ(round_trip(3.625), 3.625);
  EXPECT_EQ(round_trip(std::string("h\xc3\xa9llo \"q\"\n")), "h\xc3\xa9llo \"q\"\n");
  EXPECT_EQ(round_trip(true), true);
}

TEST(Serialization, ContainersAndTuplesRoundTrip) {
  std::vector<std::vector<int>> nested{{1, 2}, {}, {3}};
  EXPECT_EQ(round_trip(nested), nested);
  std::map<std::string, double> m{{"a", 1.5}, {"b", -2}};
  EXPECT_EQ(round_trip(m), m);
  std::tuple<int, std::string, std::vector<bool>> t{1, "x", {true, false}};
  EXPECT_EQ(round_trip(t), t);
  std::optional<int> none;
  EXPECT_EQ(round_trip(none), none);
}

TEST(Serialization, DescribedStructRoundTrips) {
  geometry::Point p{1.25, -3.5, "A"};
  EXPECT_EQ(round_trip(p), p);
  auto v = json::value_from(p);
  EXPECT_EQ(v.as_object().at("label").as_string(), "A");
}

TEST(Serialization, RegisteredInvokerConvertsArgumentsAndResult) {
  auto fn = mp::detail::find_function("geometry::midpoint");
  json::value args =
      json::value_from(std::make_tuple(geometry::Point{0, 0, "a"}, geometry::Point{2, 4, "b"}));
  auto out = json::value_to<geometry::Point>(fn.invoker(fn.fn, args));
  EXPECT_EQ(out, (geometry::Point{1, 2, "ab"}));

  auto h = mp::detail::find_function("histogram");
  auto hist = json::value_to<std::map<std::string, std::vector<int>>>(
      h.invoker(h.fn, json::parse(R"([["a","b","a"]])")));
  EXPECT_EQ(hist["a"], (std::vector<int>{0, 2}));

  auto t = mp::detail::find_function("triple");
  auto r = json::value_to<std::tuple<int, std::string, double>>(
      t.invoker(t.fn, json::parse(R"([1,"two",3.5])")));
  EXPECT_EQ(r, std::make_tuple(1, std::string("two"), 3.5));
}

TEST(Serialization, WrongArgumentTypeIsAnError) {
  auto fn = mp::detail::find_function("triple");
  EXPECT_ANY_THROW(fn.invoker(fn.fn, json::parse(R"(["not an int","two",3.5])")));
  EXPECT_ANY_THROW(fn.invoker(fn.fn, json::parse(R"([1])")));
}

TEST(Serialization, ResultTypeMismatchIsTypeError) {
  EXPECT_THROW(mp::detail::convert_result<std::vector<int>>(json::parse(R"("text")")),
               mp::TypeError);
}
