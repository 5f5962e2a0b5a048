#include "protocol.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lithops::localhost {

namespace {

void append_u32(std::string& out, std::uint32_t value) {
  char bytes[sizeof value];
  std::memcpy(bytes, &value, sizeof value);
  out.append(bytes, sizeof bytes);
}

}  // namespace

bool send_all(int fd, std::string_view header, std::string_view body) {
  iovec iov[2] = {{const_cast<char*>(header.data()), header.size()},
                  {const_cast<char*>(body.data()), body.size()}};
  iovec* next = iov;
  std::size_t count = 2;
  while (count > 0) {
    if (next->iov_len == 0) {
      ++next;
      --count;
      continue;
    }
    msghdr msg{};
    msg.msg_iov = next;
    msg.msg_iovlen = count;
    const ssize_t sent = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    auto left = static_cast<std::size_t>(sent);
    while (count > 0 && left >= next->iov_len) {
      left -= next->iov_len;
      ++next;
      --count;
    }
    if (count > 0) {
      next->iov_base = static_cast<char*>(next->iov_base) + left;
      next->iov_len -= left;
    }
  }
  return true;
}

long long recv_exact(int fd, char* data, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t got = ::read(fd, data + done, size - done);
    if (got < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return static_cast<long long>(done);
}

std::string invoke_header(std::string_view id, std::size_t payload_size) {
  const std::size_t body = sizeof(std::uint32_t) + id.size() + payload_size;
  std::string out;
  out.reserve(kLengthBytes + 1 + sizeof(std::uint32_t) + id.size());
  append_u32(out, static_cast<std::uint32_t>(body + 1));
  out.push_back(static_cast<char>(FrameType::kInvoke));
  append_u32(out, static_cast<std::uint32_t>(id.size()));
  out.append(id);
  return out;
}

std::string small_frame(FrameType type, std::string_view body) {
  std::string out;
  out.reserve(kLengthBytes + 1 + body.size());
  append_u32(out, static_cast<std::uint32_t>(body.size() + 1));
  out.push_back(static_cast<char>(type));
  out.append(body);
  return out;
}

std::optional<Frame> take_frame(std::string& buffer) {
  if (buffer.size() < kLengthBytes) return std::nullopt;
  std::uint32_t length = 0;
  std::memcpy(&length, buffer.data(), sizeof length);
  if (length == 0) {
    // Not a frame we could ever have sent: drop the length so the stream can move on.
    buffer.erase(0, kLengthBytes);
    return take_frame(buffer);
  }
  if (buffer.size() < kLengthBytes + length) return std::nullopt;
  Frame frame{static_cast<FrameType>(buffer[kLengthBytes]),
              buffer.substr(kLengthBytes + 1, length - 1)};
  buffer.erase(0, kLengthBytes + length);
  return frame;
}

}  // namespace lithops::localhost
