// The process-local state behind a Connection handle, and the per-process transport cache.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "lithops/sdk/pipe_transport.hpp"

namespace lithops::multiprocessing::detail {

// The transport named `name` for the current session: one instance per name per process
// (per session), created through the plugin loader on first use. mp::ConfigError if no pipe
// plugin has that name; mp::OSError if there is no session.
sdk::PipeTransport& pipe_transport(const std::string& name);

struct ConnectionState {
  ConnectionState(std::string id, int end_index, std::string transport, bool can_read,
                  bool can_write, std::string session);
  ~ConnectionState();

  // The attached end, attaching on first use. mp::OSError if the session that created the pipe
  // is no longer this process's session. Callers keep the pointer for the duration of a call, so
  // release() cannot pull the end from under a thread that waits in it.
  std::shared_ptr<sdk::PipeEnd> end();
  // Lets go of this process's attachment (it is re-made on next use), e.g. because the end was
  // just passed to another process that will attach it there.
  void release();
  // Called when this end is passed to another process: counts the copy, releases the local
  // attachment, and gets the other end (if it stays here) ready to receive, so a transport that
  // connects lazily is listening before the child starts sending.
  void exporting();
  // Attaches the other end, if it lives in this process and stays here, and polls it once: a
  // transport that connects lazily then connects (and receives in the background).
  void warm_sibling();
  // Marks this copy closed and drops it from the end's count of copies; the last copy of an end
  // tells the peer (see pipe.hpp). Never throws from the destructor path (`quiet`).
  void close(bool quiet);

  // Redis keys of the core's bookkeeping (transports keep their own keys).
  static std::string copies_key(const std::string& pipe_id, int end);
  static std::string closed_key(const std::string& pipe_id);

  const std::string pipe_id;
  const int index;  // 0 or 1
  const std::string transport_name;
  const bool readable;
  const bool writable;
  const std::string session;  // the runtime prefix the pipe lives in

  std::atomic<bool> closed{false};
  std::atomic<bool> exported{false};
  // The other end, while it lives in this process (set by mp::Pipe()).
  std::weak_ptr<ConnectionState> sibling;

  // Serialises receivers and holds a message recv_bytes(maxlength) refused, so it is not lost.
  std::mutex recv_mutex;
  std::optional<std::string> pending;

 private:
  std::mutex attach_mutex_;
  std::shared_ptr<sdk::PipeEnd> end_;
};

}  // namespace lithops::multiprocessing::detail
