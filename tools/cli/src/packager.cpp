#include "packager.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "cli_context.hpp"

namespace lithops::cli {

namespace fs = std::filesystem;

namespace {

struct Dependencies {
  std::map<std::string, fs::path> libraries;  // soname -> resolved file
  fs::path loader;
};

// Runs `ldd file` (no shell) and adds what it resolves. ldd asks the dynamic loader itself, so
// RUNPATH, LD_LIBRARY_PATH and the cache all count exactly as when the program runs.
void add_dependencies(const fs::path& file, Dependencies& deps) {
  int out[2];
  if (::pipe(out) != 0) throw CliError("pipe failed");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    ::execlp("ldd", "ldd", file.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string text;
  std::array<char, 4096> buf;
  for (;;) {
    const auto n = ::read(out[0], buf.data(), buf.size());
    if (n <= 0) break;
    text.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
      throw CliError("cannot run ldd (Debian package libc-bin) to find the libraries of " +
                     file.string());
    }
    throw CliError("ldd " + file.string() + " failed: is it a dynamically linked ELF file?");
  }
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    line.erase(0, line.find_first_not_of(" \t"));
    const auto paren = line.rfind(" (");
    if (paren != std::string::npos) line.resize(paren);
    const auto arrow = line.find(" => ");
    if (arrow == std::string::npos) {
      // "/lib64/ld-linux-x86-64.so.2" (the loader) or "linux-vdso.so.1" (in the kernel)
      if (!line.empty() && line.front() == '/') deps.loader = line;
      continue;
    }
    const auto name = line.substr(0, arrow);
    const auto path = line.substr(arrow + 4);
    if (path == "not found") {
      throw CliError(file.string() + " needs " + name +
                     ", which the dynamic loader cannot find; install it or set "
                     "LD_LIBRARY_PATH to its directory");
    }
    deps.libraries.emplace(name, fs::path(path));
  }
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw CliError("cannot read " + file.string());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs argv[0] (looked up on PATH) with argv, no shell; returns its exit status (127: not found).
int run_tool(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw CliError("fork failed");
  if (pid == 0) {
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw CliError(argv[0] + ": waitpid failed: " + std::strerror(errno));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string command_text(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& a : argv) text += (text.empty() ? "" : " ") + a;
  return text;
}

// The file as it goes into the package: without debug sections (binutils' strip) if asked, and
// with its ELF interpreter and RPATH set by patchelf if `patch` names any patchelf options.
std::string contents(const fs::path& file, bool strip, const fs::path& scratch,
                     const std::vector<std::string>& patch = {}) {
  if (!strip && patch.empty()) return read_file(file);
  const fs::path tmp =
      scratch / (".lithops-package-" + std::to_string(::getpid()) + "-" + file.filename().string());
  struct Remove {
    fs::path path;
    ~Remove() {
      std::error_code ec;
      fs::remove(path, ec);
    }
  } remove{tmp};
  if (strip) {
    const std::vector<std::string> cmd{"strip", "--strip-debug", "-o", tmp.string(), file.string()};
    if (run_tool(cmd) != 0) {
      throw CliError("'" + command_text(cmd) + "' failed (is binutils installed?)");
    }
  } else {
    fs::copy_file(file, tmp, fs::copy_options::overwrite_existing);
    fs::permissions(tmp, fs::perms::owner_write, fs::perm_options::add);
  }
  if (!patch.empty()) {
    std::vector<std::string> cmd{"patchelf"};
    cmd.insert(cmd.end(), patch.begin(), patch.end());
    cmd.push_back(tmp.string());
    const int status = run_tool(cmd);
    if (status == 127) {
      throw CliError(
          "cannot run patchelf, which sets the packaged program's loader: install the "
          "Debian package patchelf");
    }
    if (status != 0) throw CliError("'" + command_text(cmd) + "' failed");
  }
  return read_file(tmp);
}

class ZipWriter {
 public:
  explicit ZipWriter(const fs::path& file) : a_(archive_write_new()) {
    archive_write_set_format_zip(a_);
    archive_write_zip_set_compression_deflate(a_);
    if (archive_write_open_filename(a_, file.c_str()) != ARCHIVE_OK) fail(file.string());
  }
  ~ZipWriter() { archive_write_free(a_); }
  void add(const std::string& name, const std::string& data, int mode) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                    archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(data.size()));
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), static_cast<mode_t>(mode));
    archive_entry_set_mtime(e.get(), 1'700'000'000, 0);  // reproducible packages
    if (archive_write_header(a_, e.get()) != ARCHIVE_OK) fail(name);
    if (archive_write_data(a_, data.data(), data.size()) < 0) fail(name);
  }
  void close() {
    if (archive_write_close(a_) != ARCHIVE_OK) fail("closing the zip");
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    const char* msg = archive_error_string(a_);
    throw CliError("writing the zip (" + what + "): " + (msg ? msg : "unknown error"));
  }
  archive* a_;
};

// The program runs directly, not as an argument of the loader: its ELF interpreter is the packaged
// loader, named relative to the package directory the bootstrap starts it from (Lambda's working
// directory, /var/task, already), and its RPATH finds the packaged libraries. So /proc/self/exe is
// the program, and stack traces are symbolised against it rather than against the loader.
std::string bootstrap_script(const std::string& program) {
  return "#!/bin/sh\n"
         "# Written by `lithops runtime build`: runs " +
         program +
         " with the dynamic loader and\n"
         "# libraries packaged beside it (its ELF interpreter lib/... is relative to this\n"
         "# directory, its RPATH is $ORIGIN/../lib), whatever the host's own versions are.\n"
         "here=\"$(cd \"$(dirname \"$0\")\" && pwd)\"\n"
         "cd \"$here\" || exit 126\n"
         "export LITHOPS_PLUGIN_PATH=\"$here/bin/plugins\"\n"
         "exec \"$here/bin/" +
         program + "\" \"$@\"\n";
}

}  // namespace

std::vector<fs::path> find_plugins(const std::vector<fs::path>& dirs,
                                   const std::vector<std::string>& names) {
  std::map<std::string, fs::path> found;
  for (const auto& dir : dirs) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const auto f = entry.path().filename().string();
      if (!f.starts_with("liblithops_") || !f.ends_with(".so")) continue;
      found.emplace(f.substr(11, f.size() - 14), entry.path());
    }
  }
  std::vector<fs::path> out;
  if (names.empty()) {
    for (const auto& [n, p] : found) out.push_back(p);
    return out;
  }
  for (const auto& n : names) {
    auto it = found.find(n);
    if (it == found.end()) {
      std::string have;
      for (const auto& [k, p] : found) have += (have.empty() ? "" : ", ") + k;
      throw CliError("plugin '" + n +
                     "' not found; available: " + (have.empty() ? "(none)" : have));
    }
    out.push_back(it->second);
  }
  return out;
}

PackageReport build_package(const PackageOptions& options) {
  if (!fs::is_regular_file(options.executable)) {
    throw CliError(options.executable.string() + " is not a file");
  }
  Dependencies deps;
  add_dependencies(options.executable, deps);
  for (const auto& p : options.plugin_files) add_dependencies(p, deps);
  if (deps.loader.empty()) {
    throw CliError(options.executable.string() +
                   " names no dynamic loader: a static program needs no packaging of libraries, "
                   "but Lithops plugins need a dynamically linked one");
  }
  const auto program = options.executable.filename().string();
  const auto loader = deps.loader.filename().string();
  const fs::path scratch = fs::temp_directory_path();

  PackageReport report;
  ZipWriter zip(options.output);
  auto add = [&](const std::string& name, const std::string& data, int mode) {
    zip.add(name, data, mode);
    report.unpacked_bytes += data.size();
    report.entries.push_back(name);
  };
  add("bootstrap", bootstrap_script(program), 0755);
  // DT_RPATH (not RUNPATH): it also serves the libraries' own dependencies and dlopen.
  add("bin/" + program,
      contents(
          options.executable, options.strip_debug, scratch,
          {"--set-interpreter", "lib/" + loader, "--force-rpath", "--set-rpath", "$ORIGIN/../lib"}),
      0755);
  for (const auto& p : options.plugin_files) {
    add("bin/plugins/" + p.filename().string(),
        contents(p, options.strip_debug, scratch,
                 {"--force-rpath", "--set-rpath", "$ORIGIN/../../lib"}),
        0755);
  }
  add("lib/" + loader, read_file(deps.loader), 0755);
  for (const auto& [soname, path] : deps.libraries) {
    // Under the name the program asks for (the soname), whatever symlinks led to the file.
    add("lib/" + soname, contents(fs::canonical(path), options.strip_debug, scratch), 0755);
  }
  zip.close();
  report.zip_bytes = fs::file_size(options.output);
  if (report.unpacked_bytes > kMaxUnpackedBytes) {
    throw CliError("the package unpacks to " + std::to_string(report.unpacked_bytes >> 20) +
                   " MB, over Lambda's 250 MB limit for a function; rebuild with --strip, or "
                   "link fewer libraries");
  }
  return report;
}

}  // namespace lithops::cli
