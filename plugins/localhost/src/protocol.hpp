// The wire protocol between the localhost executor (driver) and its worker processes.
//
// Each worker has two AF_UNIX stream sockets, inherited at fixed descriptors (kRequestFd,
// kEventFd). Every message is a frame:
//
//   u32 length (host byte order) | u8 type | body (length - 1 bytes)
//
// driver -> worker, on kRequestFd:
//   kInvoke   body = u32 id length | id | payload          (payload: the rest, opaque)
// worker -> driver, on kEventFd:
//   kDone     body = id                                    (the handler returned)
//   kExecFailed body = i32 errno                           (written by the forked child itself
//                                                           when execve fails)
// The driver closing its request socket (EOF) tells the worker to exit with status 0.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lithops::localhost {

inline constexpr int kRequestFd = 3;
inline constexpr int kEventFd = 4;
// Where a worker finds our sockets (worker mode itself comes from sdk::worker_environment()).
inline constexpr const char* kFdsEnv = "LITHOPS_LOCALHOST_FDS";

enum class FrameType : std::uint8_t { kInvoke = 1, kDone = 2, kExecFailed = 3 };

inline constexpr std::size_t kLengthBytes = sizeof(std::uint32_t);
// Largest body a frame can carry (the length field counts the type byte too).
inline constexpr std::size_t kMaxBody = UINT32_MAX - 1;

// Writes all of `header` then all of `body` to a socket, retrying short writes and EINTR.
// Uses MSG_NOSIGNAL so a vanished peer is an error return (false, errno set), not SIGPIPE.
bool send_all(int fd, std::string_view header, std::string_view body);

// Reads exactly `size` bytes. Returns the number read: less than `size` only at EOF; -1 on error.
long long recv_exact(int fd, char* data, std::size_t size);

// The frame bytes up to the payload for an invocation (the payload follows unchanged).
std::string invoke_header(std::string_view id, std::size_t payload_size);

// A small frame with its whole body.
std::string small_frame(FrameType type, std::string_view body);

// A complete frame taken off the front of `buffer`, if one is there.
struct Frame {
  FrameType type;
  std::string body;
};
std::optional<Frame> take_frame(std::string& buffer);

}  // namespace lithops::localhost
