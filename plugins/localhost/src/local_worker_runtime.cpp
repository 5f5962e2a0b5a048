#include "local_worker_runtime.hpp"

#include <fcntl.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "lithops/sdk/errors.hpp"
#include "protocol.hpp"

namespace lithops::localhost {

namespace {

int parse_fd(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < 0 || value > 65535) return -1;
  return static_cast<int>(value);
}

void log_error(const char* what) {
  std::fprintf(stderr, "lithops localhost worker: %s: %s\n", what, std::strerror(errno));
}

}  // namespace

LocalWorkerRuntime::LocalWorkerRuntime(const sdk::PluginContext& /*context*/) {
  const char* fds = std::getenv(kFdsEnv);
  const std::string value = fds == nullptr ? "" : fds;
  const auto comma = value.find(',');
  if (comma != std::string::npos) {
    requests_fd_ = parse_fd(value.substr(0, comma));
    events_fd_ = parse_fd(value.substr(comma + 1));
  }
  if (requests_fd_ < 0 || events_fd_ < 0 || ::fcntl(requests_fd_, F_GETFD) < 0 ||
      ::fcntl(events_fd_, F_GETFD) < 0) {
    throw sdk::PluginError(std::string("localhost worker: ") + kFdsEnv + "='" + value +
                           "' does not name two open descriptors; a localhost worker must be "
                           "started by the localhost executor, not by hand");
  }
  // Programs the worker runs (system(), exec) must not hold the driver's sockets open.
  ::fcntl(requests_fd_, F_SETFD, FD_CLOEXEC);
  ::fcntl(events_fd_, F_SETFD, FD_CLOEXEC);
}

int LocalWorkerRuntime::serve(const Handler& handle) {
  for (;;) {
    // length | type | id length
    char head[kLengthBytes + 1 + sizeof(std::uint32_t)];
    const long long got = recv_exact(requests_fd_, head, sizeof head);
    if (got == 0) return 0;  // the driver closed the socket: time to go
    if (got < 0) {
      log_error("reading a request");
      return 1;
    }
    if (got != static_cast<long long>(sizeof head)) return 0;  // driver gone mid-frame
    std::uint32_t length = 0;
    std::uint32_t id_size = 0;
    std::memcpy(&length, head, sizeof length);
    std::memcpy(&id_size, head + kLengthBytes + 1, sizeof id_size);
    const auto type = static_cast<FrameType>(head[kLengthBytes]);
    if (type != FrameType::kInvoke || length < 1 + sizeof id_size ||
        id_size > length - 1 - sizeof id_size) {
      std::fprintf(stderr, "lithops localhost worker: malformed request frame\n");
      return 1;
    }
    std::string id(id_size, '\0');
    std::string payload(length - 1 - sizeof id_size - id_size, '\0');
    if (recv_exact(requests_fd_, id.data(), id.size()) != static_cast<long long>(id.size()) ||
        recv_exact(requests_fd_, payload.data(), payload.size()) !=
            static_cast<long long>(payload.size())) {
      return 0;  // driver gone mid-frame
    }
    handle(payload);
    if (!send_all(events_fd_, small_frame(FrameType::kDone, id), {})) {
      // EPIPE: the driver is gone (it would have killed us anyway); anything else is worth a line.
      if (errno == EPIPE || errno == ECONNRESET) return 0;
      log_error("reporting done");
      return 1;
    }
  }
}

}  // namespace lithops::localhost
