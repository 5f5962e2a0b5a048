// The socket side of the nanomsg transport's direct engine: the SP TCP mapping's handshake (as
// NNG implements it, src/sp/transport/tcp/tcp.c: each side sends 0x00 'S' 'P' 0x00, its 16-bit
// big-endian protocol id and two zero bytes, then checks the peer's), listening and dialing.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace lithops::plugins::nanomsg::sp {

using Clock = std::chrono::steady_clock;

inline constexpr std::uint16_t kPair1 = 0x11;  // PAIR v1 (NNG_PAIR1_SELF)

void put_be(unsigned char* p, std::uint64_t v, int bytes);
std::uint64_t get_be(const unsigned char* p, int bytes);
// Milliseconds for poll(): -1 for time_point::max(), else 0..INT_MAX.
int ms_until(Clock::time_point deadline);
std::string errno_text(int err);
void set_nodelay(int fd);
// Sends our header and checks the peer's (SP, PAIR v1) within `deadline`; `why` says what failed.
bool handshake(int fd, Clock::time_point deadline, std::string& why);
// A non-blocking listening socket on the first free port of [port_min, port_max] (0: ephemeral),
// or -1 with `error`.
int listen_tcp(const std::string& bind, int port_min, int port_max, int& bound_port,
               std::string& error);
// A connected non-blocking socket (TCP_NODELAY) to "tcp://host:port" after the handshake, or -1
// with `why`.
int dial_tcp(const std::string& url, Clock::time_point deadline, std::string& why);
// NNG's IPC mapping (ipc://path, a Unix stream socket): the same handshake, but each message is
// a type byte (1), then the 64-bit big-endian length and the body.
inline constexpr unsigned char kIpcMessage = 1;
// A non-blocking listening Unix socket bound at `path`, or -1 with `error`.
int listen_ipc(const std::string& path, std::string& error);
// A connected non-blocking Unix socket to "ipc://path" after the handshake, or -1 with `why`.
int dial_ipc(const std::string& url, Clock::time_point deadline, std::string& why);

}  // namespace lithops::plugins::nanomsg::sp
