// lithops-lambda-emulator: AWS Lambda on loopback. See docs/backends/lambda-emulator.md.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "emulator.hpp"
#include "event_loop.hpp"

int main(int argc, char** argv) {
  namespace em = lithops::emulator;
  CLI::App app{
      "Emulates AWS Lambda on loopback: the Invoke API, function management and custom "
      "runtime instances started from deployed zips."};
  em::Options options;
  std::string listen = "127.0.0.1:9001";
  std::string port_file;
  double idle_seconds = 300;
  bool no_auth = false;
  app.add_option("--listen", listen, "address:port to serve on (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--access-key-id", options.access_key_id,
                 "the access key id requests must be signed with")
      ->envname("AWS_ACCESS_KEY_ID");
  app.add_option("--secret-access-key", options.secret_access_key, "its secret key")
      ->envname("AWS_SECRET_ACCESS_KEY");
  app.add_flag("--no-auth", no_auth, "accept requests without checking their signature");
  app.add_option("--region", options.region, "the region requests must be scoped to")
      ->capture_default_str();
  app.add_option("--concurrency", options.concurrency,
                 "function instances busy at once; beyond it synchronous invokes get 429")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--idle-timeout", idle_seconds, "seconds an idle instance stays warm")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--work-dir", options.work_dir,
                 "where deployed zips are unpacked (default: a temp dir removed at exit)");
  app.add_option("--pass-env", options.pass_env,
                 "a variable of this environment that function instances inherit (repeatable)");
  std::string exit_answer = "lambda";
  app.add_option("--exit-answer", exit_answer,
                 "how an invocation whose instance exited is answered: 'lambda' (a "
                 "Runtime.ExitError function error, as AWS Lambda) or 'empty-200' (an empty 200 "
                 "without X-Amz-Function-Error, as AWS's runtime interface emulator)")
      ->capture_default_str()
      ->check(CLI::IsMember({"lambda", "empty-200"}));
  app.add_option("--port-file", port_file, "write the port served on to this file once ready");
  CLI11_PARSE(app, argc, argv);

  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "--listen must be address:port, got '" << listen << "'\n";
    return 2;
  }
  options.address = listen.substr(0, colon);
  try {
    options.port = static_cast<unsigned short>(std::stoul(listen.substr(colon + 1)));
  } catch (const std::exception&) {
    std::cerr << "--listen must be address:port, got '" << listen << "'\n";
    return 2;
  }
  options.check_signatures = !no_auth;
  options.exit_answer = exit_answer == "empty-200" ? em::Options::ExitAnswer::kEmpty200
                                                   : em::Options::ExitAnswer::kLambda;
  if (options.check_signatures &&
      (options.access_key_id.empty() || options.secret_access_key.empty())) {
    std::cerr << "give --access-key-id and --secret-access-key (or AWS_ACCESS_KEY_ID and "
                 "AWS_SECRET_ACCESS_KEY), or --no-auth\n";
    return 2;
  }
  options.idle_timeout = std::chrono::milliseconds(static_cast<long long>(idle_seconds * 1000));
  ::signal(SIGPIPE, SIG_IGN);
  try {
    em::EventLoop loop(80u * 1024 * 1024);  // a 50 MB zip in base64 inside JSON, with room
    em::Emulator emulator(options, loop);
    loop.stop_on_signals();
    if (!port_file.empty()) {
      const std::string tmp = port_file + ".tmp";
      std::ofstream(tmp) << emulator.port() << "\n";
      std::rename(tmp.c_str(), port_file.c_str());
    }
    std::cout << "lithops-lambda-emulator listening on http://" << options.address << ":"
              << emulator.port() << std::endl;
    loop.run();
  } catch (const std::exception& e) {
    std::cerr << "lithops-lambda-emulator: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
