// The mp::config features: ENV_VARS, REDIS_EXPIRY_TIME, STREAM_STDOUT, EXPORT_EXECUTION_DETAILS.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include <boost/json.hpp>

#include <lithops/multiprocessing.hpp>

#include "redis_probe.hpp"
#include "runtime.hpp"
#include "scenario.hpp"
#include "test_functions.hpp"

namespace mp = lithops::multiprocessing;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {
std::string get_env(std::string name) {
  const char* v = std::getenv(name.c_str());
  return v ? v : "<unset>";
}
void env_to_file(std::string name, std::string path) {
  lithops::test::write_file(path, get_env(name));
}
int slow_identity(int x) {
  std::this_thread::sleep_for(std::chrono::milliseconds(x));
  return x;
}
void print_lines(int who, int lines) {
  for (int j = 0; j < lines; ++j) std::printf("p%d line %d\n", who, j);
  std::fprintf(stderr, "p%d done\n", who);
  // No flush on purpose: the worker must publish what stdio still buffers.
}
void sleep_ms_cf(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }
}  // namespace
LITHOPS_FUNCTION(get_env);
LITHOPS_FUNCTION(env_to_file);
LITHOPS_FUNCTION(slow_identity);
LITHOPS_FUNCTION(print_lines);
LITHOPS_FUNCTION(sleep_ms_cf);

TEST(ConfigFeatures, EnvVarsAreSetInWorkersBeforeTheFunctionRuns) {
  mp::config::set_parameter(mp::config::ENV_VARS, json::parse(R"({"LITHOPS_TEST_VAR": "hello"})"));
  mp::Pool pool(1);
  EXPECT_EQ(pool.apply(get_env, std::string("LITHOPS_TEST_VAR")), "hello");
  const std::string path = lithops::test::temp_dir() + "/env";
  mp::Process p(env_to_file, std::string("LITHOPS_TEST_VAR"), path);
  p.start();
  p.join();
  EXPECT_EQ(lithops::test::read_file(path), "hello");
}

TEST(ConfigFeatures, EveryKeyOfTheRunCarriesTheExpiryTime) {
  // Compared with the configured REDIS_EXPIRY_TIME (a session that starts with it), not with what
  // the store reports about itself.
  constexpr long long kExpiry = 97;
  const long long before = lithops::test::restart_session_with_expiry(kExpiry);
  mp::Process p(sleep_ms_cf, 0);  // leaves its result unread until joined
  p.start();
  mp::Pool pool(2);
  auto r = pool.map_async(slow_identity, std::vector<int>{300, 300, 300, 300, 300, 300}, 1);
  auto& rt = mp::detail::Runtime::get();
  std::vector<std::string> keys;
  // Look once tasks are queued, running and returned and the Process has reported (a moment,
  // longer on a loaded machine or under a sanitizer).
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  auto has = [&](const std::string& part) {
    return std::any_of(keys.begin(), keys.end(),
                       [&](const std::string& k) { return k.find(part) != std::string::npos; });
  };
  do {
    std::this_thread::sleep_for(50ms);
    keys.clear();
    std::string cursor = "0";
    do {
      auto reply = rt.store().run({"SCAN", cursor, "MATCH", rt.prefix() + "*", "COUNT", "1000"});
      cursor = reply.elements.at(0).str;
      for (auto& k : reply.elements.at(1).elements) keys.push_back(k.str);
    } while (cursor != "0");
  } while (!(has(":wip:") && has("proc:")) && std::chrono::steady_clock::now() < deadline);
  EXPECT_GE(keys.size(), 3u);
  for (const auto& k : keys) {
    auto ttl = rt.store().run({"TTL", k}).integer;
    if (ttl == -2) continue;  // gone between SCAN and TTL
    EXPECT_GT(ttl, 0) << k << " has no expiry";
    EXPECT_LE(ttl, kExpiry) << k;
  }
  EXPECT_EQ(r.get(30s).size(), 6u);
  p.join();
  mp::config::set_parameter(mp::config::REDIS_EXPIRY_TIME, before);
}

// --- STREAM_STDOUT, observed from outside the driver -------------------------------------------
LITHOPS_SCENARIO(stream_stdout) {
  mp::config::set_parameter(mp::config::STREAM_STDOUT, true);
  std::vector<mp::Process> ps;
  for (int i = 0; i < 8; ++i) ps.emplace_back(print_lines, i, 1250);
  for (auto& p : ps) p.start();
  for (auto& p : ps) p.join();
  std::printf("driver: all joined\n");
  return 0;
}

TEST(ConfigFeatures, StreamStdoutDeliversEveryLineInOrderPerProcess) {
  auto run = lithops::test::run_scenario("stream_stdout", {}, 120);
  ASSERT_EQ(run.status, 0) << run.output.substr(0, 2000);
  std::map<int, int> next;  // process -> next expected line
  std::map<int, std::string> name_of;
  std::istringstream in(run.output);
  std::string line;
  std::regex out_re(R"(^\[(Process-\d+)\] p(\d) line (\d+)$)");
  std::regex err_re(R"(^\[(Process-\d+) stderr\] p(\d) done$)");
  int errs = 0;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, out_re)) {
      int who = std::stoi(m[2]), j = std::stoi(m[3]);
      EXPECT_EQ(j, next[who]) << "process " << who << " out of order";
      next[who] = j + 1;
      if (name_of.count(who)) {
        EXPECT_EQ(name_of[who], m[1]);
      }
      name_of[who] = m[1];
    } else if (std::regex_match(line, m, err_re)) {
      ++errs;
    }
  }
  ASSERT_EQ(next.size(), 8u);
  for (const auto& [who, n] : next) EXPECT_EQ(n, 1250) << "process " << who;
  EXPECT_EQ(errs, 8);
  // Output printed before join() returned comes before the driver's own line.
  EXPECT_LT(run.output.rfind(" line 1249"), run.output.find("driver: all joined"));
}

// --- EXPORT_EXECUTION_DETAILS ------------------------------------------------------------------
LITHOPS_SCENARIO(execution_details) {
  mp::config::set_parameter(mp::config::EXPORT_EXECUTION_DETAILS, json::string(args.at(0)));
  {
    mp::Pool pool(2);
    pool.map(slow_identity, std::vector<int>(12, 20), 1);
    pool.close();
    pool.join();
  }
  for (int i = 0; i < 3; ++i) {
    mp::Process p(sleep_ms_cf, 10);
    p.start();
    p.join();
  }
  return 0;
}

namespace {
std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}
void check_details(const std::filesystem::path& json_file, std::size_t expected) {
  auto doc = json::parse(lithops::test::read_file(json_file.string())).as_object();
  const auto& inv = doc.at("invocations").as_array();
  ASSERT_EQ(inv.size(), expected) << json_file;
  for (const auto& v : inv) {
    const auto& o = v.as_object();
    std::int64_t prev = 0;
    for (const char* k :
         {"submitted_us", "delivered_us", "started_us", "finished_us", "received_us"}) {
      auto t = o.at(k).to_number<std::int64_t>();
      EXPECT_GE(t, prev) << k << " in " << json::serialize(o);
      prev = t;
    }
    EXPECT_FALSE(o.at("worker").as_string().empty());
  }
  auto stem = json_file.string().substr(0, json_file.string().size() - 5);
  for (const char* pic : {"-timeline.svg", "-histogram.svg"}) {
    auto svg = lithops::test::read_file(stem + pic);
    ASSERT_FALSE(svg.empty()) << stem << pic;
    EXPECT_NE(svg.find("<text"), std::string::npos);  // axes labels and legend
    auto png = stem + pic + ".png";
    auto cmd = "rsvg-convert -o '" + png + "' '" + stem + pic + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    EXPECT_GT(std::filesystem::file_size(png), 1000u);
  }
  auto timeline = lithops::test::read_file(stem + "-timeline.svg");
  EXPECT_EQ(count(timeline, "class=\"bar-running\""), expected);
}
}  // namespace

TEST(ConfigFeatures, ExecutionDetailsAreExportedAsJsonAndPictures) {
  const std::string dir = lithops::test::temp_dir() + "/details";
  auto run = lithops::test::run_scenario("execution_details", {dir}, 120);
  ASSERT_EQ(run.status, 0) << run.output;
  std::filesystem::path pool_json, proc_json;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    auto n = e.path().filename().string();
    if (n.ends_with(".json") && n.starts_with("pool")) pool_json = e.path();
    if (n.ends_with(".json") && n.starts_with("processes")) proc_json = e.path();
  }
  ASSERT_FALSE(pool_json.empty()) << "no pool details in " << dir;
  ASSERT_FALSE(proc_json.empty()) << "no process details in " << dir;
  check_details(pool_json, 12);
  check_details(proc_json, 3);
}
