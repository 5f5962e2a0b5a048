// `lithops runtime build | deploy | list | delete`: packaging a program as a Lambda custom
// runtime and managing the functions that run it (the aws_lambda backend).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "base64.hpp"
#include "cli_context.hpp"
#include "http_client.hpp"
#include "lambda_api.hpp"
#include "lambda_config.hpp"
#include "packager.hpp"
#include "plugin_loader.hpp"

namespace lithops::cli {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// The core's search path: the one place that reads $LITHOPS_PLUGIN_PATH.
std::vector<fs::path> default_plugin_dirs() {
  return lithops::multiprocessing::detail::plugin_search_path();
}

std::string mb(std::uintmax_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

std::string text_of(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return "";
  return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
}

// Polls GetFunctionConfiguration until the function is Active and its last update Successful.
void wait_until_ready(aws::LambdaApi& api, const std::string& name, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const auto c = api.get_function_configuration(name);
    const auto state = text_of(c, "State");
    const auto update = text_of(c, "LastUpdateStatus");
    if (state == "Failed" || update == "Failed") {
      throw CliError("function " + name + " failed to deploy: " +
                     text_of(c, update == "Failed" ? "LastUpdateStatusReason" : "StateReason"));
    }
    if (state == "Active" && (update.empty() || update == "Successful")) return;
    if (std::chrono::steady_clock::now() > deadline) {
      throw CliError("function " + name + " is still " + state + "/" + update + " after " +
                     std::to_string(limit.count()) + " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

struct BuildArgs {
  std::string executable;
  std::string output;
  std::vector<std::string> plugin_dirs;
  std::vector<std::string> plugins;
  bool strip = false;
};

void build(const BuildArgs& args) {
  PackageOptions options;
  options.executable = args.executable;
  options.output =
      args.output.empty() ? fs::path(args.executable).filename().string() + ".zip" : args.output;
  options.strip_debug = args.strip;
  std::vector<fs::path> dirs(args.plugin_dirs.begin(), args.plugin_dirs.end());
  if (dirs.empty()) dirs = default_plugin_dirs();
  options.plugin_files = find_plugins(dirs, args.plugins);
  if (options.plugin_files.empty()) {
    throw CliError(
        "no Lithops plugins found (looked in the plugin path; give --plugin-dir): a "
        "worker needs at least the aws_lambda executor and its state store");
  }
  const auto report = build_package(options);
  std::cout << "built " << options.output.string() << ": " << report.entries.size() << " files, "
            << mb(report.zip_bytes) << " zipped, " << mb(report.unpacked_bytes) << " unpacked\n";
  if (report.zip_bytes > kMaxDirectUploadBytes) {
    std::cout << "note: over Lambda's 50 MB direct-upload limit; `lithops runtime deploy` will "
                 "refuse it. Rebuild with --strip to drop debug info.\n";
  }
}

struct DeployArgs {
  std::string zip;
  std::string name;
};

void deploy(CliContext& context, const DeployArgs& args) {
  const auto config = aws::LambdaConfig::parse(context.section("aws_lambda"));
  const fs::path zip_path = args.zip;
  if (!fs::is_regular_file(zip_path)) throw CliError(args.zip + " is not a file");
  const auto size = fs::file_size(zip_path);
  if (size > kMaxDirectUploadBytes) {
    throw CliError(zip_path.string() + " is " + mb(size) +
                   ", over Lambda's 50 MB limit for a zip uploaded directly. Rebuild it with "
                   "`lithops runtime build --strip` (debug info is most of a RelWithDebInfo "
                   "build), link fewer libraries, or build in Release mode.");
  }
  const std::string name =
      args.name.empty() ? config.resolve_function_name(zip_path.stem().string()) : args.name;
  if (config.execution_role.empty()) {
    throw CliError(
        "set aws_lambda.execution_role to the ARN of the IAM role the function runs "
        "as (see docs/backends/aws_lambda.md)");
  }
  std::ifstream in(zip_path, std::ios::binary);
  const std::string zip(std::istreambuf_iterator<char>(in), {});
  const auto encoded = aws::base64_encode(zip);

  aws::HttpClient client;
  aws::LambdaApi api(config, client);
  json::object settings{{"Role", config.execution_role},
                        {"Handler", "lithops"},
                        {"Runtime", "provided.al2023"},
                        {"MemorySize", config.memory},
                        {"Timeout", config.timeout},
                        {"Description", "Lithops C++ runtime for " + zip_path.stem().string()}};
  bool created = false;
  try {
    json::object create = settings;
    create["FunctionName"] = name;
    create["Code"] = {{"ZipFile", encoded}};
    create["Architectures"] = json::array{config.architecture};
    create["PackageType"] = "Zip";
    api.create_function(create);
    created = true;
  } catch (const aws::LambdaApiError& e) {
    if (e.type() != "ResourceConflictException") throw;
  }
  if (!created) {
    // It exists: new code, then the settings, each once the previous update has finished.
    wait_until_ready(api, name, std::chrono::seconds(300));
    api.update_function_code(
        name, {{"ZipFile", encoded}, {"Architectures", json::array{config.architecture}}});
    wait_until_ready(api, name, std::chrono::seconds(300));
    api.update_function_configuration(name, settings);
  }
  wait_until_ready(api, name, std::chrono::seconds(300));
  std::cout << (created ? "created " : "updated ") << name << " (" << mb(size) << ") at "
            << config.endpoint_url << "\n";
}

void list(CliContext& context, bool all) {
  const auto config = aws::LambdaConfig::parse(context.section("aws_lambda"));
  aws::HttpClient client;
  aws::LambdaApi api(config, client);
  std::printf("%-40s %8s %8s %-8s %10s  %s\n", "FUNCTION", "MEMORY", "TIMEOUT", "STATE", "SIZE",
              "LAST MODIFIED");
  for (const auto& f : api.list_functions()) {
    const auto& o = f.as_object();
    const auto name = text_of(o, "FunctionName");
    if (!all && !config.function_prefix.empty() && !name.starts_with(config.function_prefix)) {
      continue;
    }
    std::printf(
        "%-40s %8s %8s %-8s %10s  %s\n", name.c_str(), text_of(o, "MemorySize").c_str(),
        text_of(o, "Timeout").c_str(), text_of(o, "State").c_str(),
        mb(o.contains("CodeSize") ? o.at("CodeSize").to_number<std::uintmax_t>() : 0).c_str(),
        text_of(o, "LastModified").c_str());
  }
}

void remove(CliContext& context, const std::vector<std::string>& names) {
  const auto config = aws::LambdaConfig::parse(context.section("aws_lambda"));
  aws::HttpClient client;
  aws::LambdaApi api(config, client);
  for (const auto& n : names) {
    api.delete_function(n);
    std::cout << "deleted " << n << "\n";
  }
}

}  // namespace

void add_runtime_commands(CLI::App& app, CliContext& context) {
  auto* runtime =
      app.add_subcommand("runtime", "package and deploy the worker runtime (aws_lambda)");
  runtime->require_subcommand(1);
  runtime->footer(
      "Example (AWS Lambda, config section aws_lambda):\n"
      "  lithops runtime build ./my_program --strip && lithops runtime deploy my_program.zip\n"
      "  lithops runtime list; lithops runtime delete lithops-my_program");

  auto build_args = std::make_shared<BuildArgs>();
  auto* b = runtime->add_subcommand(
      "build", "package a program, its libraries and the Lithops plugins as a Lambda zip");
  b->add_option("executable", build_args->executable, "the program (driver and worker)")
      ->required()
      ->check(CLI::ExistingFile);
  b->add_option("-o,--output", build_args->output, "the zip to write (default: <program>.zip)");
  b->add_option("--plugin-dir", build_args->plugin_dirs,
                "where the plugins are (default: the plugin search path)");
  b->add_option("--plugin", build_args->plugins,
                "only this plugin, as <kind>_<name> (e.g. executor_aws_lambda); repeatable");
  b->add_flag("--strip", build_args->strip, "drop debug info from the packaged files");
  b->footer("Example:\n  lithops runtime build ./my_program -o my_program.zip --strip");
  b->callback([build_args] { build(*build_args); });

  auto deploy_args = std::make_shared<DeployArgs>();
  auto* d = runtime->add_subcommand(
      "deploy", "create or update the function from a zip and wait until it is ready");
  d->add_option("zip", deploy_args->zip, "a zip from `lithops runtime build`")->required();
  d->add_option("--name", deploy_args->name,
                "function name (default: aws_lambda.function_name, else function_prefix + the "
                "zip's program name)");
  d->footer("Example:\n  lithops runtime deploy my_program.zip --name lithops-my_program");
  d->callback([&context, deploy_args] { deploy(context, *deploy_args); });

  auto all = std::make_shared<bool>(false);
  auto* l = runtime->add_subcommand("list", "list the deployed functions");
  l->add_flag("--all", *all, "also functions without the configured function_prefix");
  l->footer("Example:\n  lithops runtime list --all");
  l->callback([&context, all] { list(context, *all); });

  auto names = std::make_shared<std::vector<std::string>>();
  auto* del = runtime->add_subcommand("delete", "delete deployed functions");
  del->add_option("names", *names, "function names")->required();
  del->footer("Example:\n  lithops runtime delete lithops-my_program");
  del->callback([&context, names] { remove(context, *names); });
}

}  // namespace lithops::cli
