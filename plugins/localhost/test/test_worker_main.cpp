// main() of the localhost executor tests. Started normally it runs the test suite; re-executed by
// the executor (LITHOPS_WORKER_BACKEND=localhost) it is the worker, as a real user program is
// after mp::init(). Payloads are commands:
//   noop | sleep <ms> | exit <code> | kill <signal> | abort | write <path> <text> | pid <path>
//   env <name> <path> | fds <path> | size <path> <bytes...> | ignoreterm <ms>
//   await <path> (returns once the file exists, or after 60 s)
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "lithops/sdk/plugin_context.hpp"
#include "local_worker_runtime.hpp"

namespace {

// Written whole then renamed, so a test polling for the file never reads half of it.
void write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
  }
  std::rename(tmp.c_str(), path.c_str());
}

std::string open_fds() {
  std::string out;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return "?";
  const int own = ::dirfd(dir);
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.' || std::atoi(entry->d_name) == own) continue;
    out += std::string(entry->d_name) + " ";
  }
  ::closedir(dir);
  return out;
}

void run_command(const std::string& payload) {
  std::istringstream in(payload);
  std::string verb;
  in >> verb;
  if (verb == "noop") return;
  if (verb == "sleep" || verb == "ignoreterm") {
    if (verb == "ignoreterm") ::signal(SIGTERM, SIG_IGN);
    long ms = 0;
    in >> ms;
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  } else if (verb == "await") {
    std::string path;
    in >> path;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (::access(path.c_str(), F_OK) != 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  } else if (verb == "exit") {
    int code = 0;
    in >> code;
    std::exit(code);
  } else if (verb == "kill") {
    int sig = 0;
    in >> sig;
    ::raise(sig);
  } else if (verb == "abort") {
    std::abort();
  } else if (verb == "write") {
    std::string path;
    in >> path;
    in.get();
    std::string text;
    std::getline(in, text, '\0');  // the rest of the payload
    write_file(path, text);
  } else if (verb == "pid") {
    std::string path;
    in >> path;
    write_file(path, std::to_string(::getpid()));
  } else if (verb == "env") {
    std::string name, path;
    in >> name >> path;
    const char* value = std::getenv(name.c_str());
    write_file(path, value == nullptr ? "<unset>" : value);
  } else if (verb == "fds") {
    std::string path;
    in >> path;
    write_file(path, open_fds());
  } else if (verb == "size") {
    std::string path;
    in >> path;
    write_file(path, std::to_string(payload.size()));
  } else {
    std::fprintf(stderr, "test worker: unknown command '%s'\n", payload.c_str());
    std::exit(99);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* backend = std::getenv("LITHOPS_WORKER_BACKEND");
  if (backend != nullptr && std::string(backend) == "localhost") {
    const boost::json::object empty;
    lithops::sdk::PluginContext context;
    context.config = &empty;
    context.section = &empty;
    lithops::localhost::LocalWorkerRuntime runtime(context);
    return runtime.serve(run_command);
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
