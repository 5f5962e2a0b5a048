// mp::Pipe: creating pipes, the per-process transport cache, Connection handles and closing.
#include <cstdio>
#include <map>

#include <boost/json.hpp>

#include "config_internal.hpp"
#include "lithops/multiprocessing/pipe.hpp"
#include "lithops/multiprocessing/shared_object.hpp"
#include "lithops/sdk/errors.hpp"
#include "pipe_internal.hpp"
#include "plugin_loader.hpp"
#include "runtime.hpp"

namespace lithops::multiprocessing {
namespace json = boost::json;

namespace detail {
namespace {
const json::object& section_of(const json::object& config, const std::string& name) {
  static const json::object empty;
  auto* s = config.if_contains(name);
  return s && s->is_object() ? s->as_object() : empty;
}

// The current runtime if it is the session `session`; nullptr if that session has ended here.
Runtime* runtime_of(const std::string& session) {
  Runtime* rt = Runtime::current();
  return rt && rt->prefix() == session ? rt : nullptr;
}

void check_replies(const std::vector<sdk::Reply>& replies, const char* what) {
  for (const auto& r : replies) {
    if (r.is_error()) throw OSError(std::string(what) + ": " + r.str);
  }
}
}  // namespace

sdk::PipeTransport& pipe_transport(const std::string& name) {
  Runtime* rt = Runtime::current();
  if (!rt) throw OSError("mp::Pipe: no Lithops session is running in this process");
  static std::mutex mutex;
  // Never freed: ends created by a transport may outlive everything at exit, and plugins are
  // never unloaded. One entry per session and name, so a warm worker serving a new session
  // gets transports bound to the new store.
  static auto* cache = new std::map<std::string, std::unique_ptr<sdk::PipeTransport>>();
  const std::string key = rt->prefix() + "\n" + name;
  std::lock_guard lock(mutex);
  auto it = cache->find(key);
  if (it != cache->end()) return *it->second;
  sdk::PluginContext ctx;
  ctx.config = &rt->config();
  ctx.section = &section_of(rt->config(), name);
  ctx.store = &rt->store().raw();
  ctx.key_prefix = rt->prefix();
  ctx.expiry_seconds = rt->store().expiry();
  auto transport = create_pipe_transport(name, ctx);
  return *cache->emplace(key, std::move(transport)).first->second;
}

ConnectionState::ConnectionState(std::string id, int end_index, std::string transport,
                                 bool can_read, bool can_write, std::string session_prefix)
    : pipe_id(std::move(id)),
      index(end_index),
      transport_name(std::move(transport)),
      readable(can_read),
      writable(can_write),
      session(std::move(session_prefix)) {}

ConnectionState::~ConnectionState() { close(/*quiet=*/true); }

std::shared_ptr<sdk::PipeEnd> ConnectionState::end() {
  if (!runtime_of(session)) {
    throw OSError("this Connection belongs to Lithops session '" + session +
                  "', which is not running in this process");
  }
  std::lock_guard lock(attach_mutex_);
  if (!end_) end_ = pipe_transport(transport_name).attach(pipe_id, index);
  return end_;
}

void ConnectionState::release() {
  std::shared_ptr<sdk::PipeEnd> doomed;
  std::lock_guard lock(attach_mutex_);
  doomed.swap(end_);
}

std::string ConnectionState::copies_key(const std::string& pipe_id, int end) {
  return pipe_id + ":copies" + std::to_string(end);
}
std::string ConnectionState::closed_key(const std::string& pipe_id) { return pipe_id + ":closed"; }

void ConnectionState::exporting() {
  Runtime* rt = runtime_of(session);
  if (!rt) throw OSError("cannot pass a Connection of a Lithops session that has ended");
  const std::string key = copies_key(pipe_id, index);
  std::vector<sdk::Command> cmds{{"INCR", key}, {"EXPIRE", key, rt->store().expiry_text()}};
  check_replies(rt->store().pipeline(cmds), "cannot pass a Connection");
  exported = true;
  release();
  warm_sibling();
}

void ConnectionState::warm_sibling() {
  if (auto other = sibling.lock(); other && !other->exported && !other->closed) {
    try {
      other->end()->poll(std::chrono::milliseconds::zero());
    } catch (const std::exception&) {
      // Only a head start: the same error surfaces on the other end's first real use.
    }
  }
}

void ConnectionState::close(bool quiet) {
  if (closed.exchange(true)) return;
  Runtime* rt = runtime_of(session);
  if (!rt) return;  // the session ended here; its keys expire
  try {
    // Copies of an end are counted like duplicated file descriptors: only the last one to go
    // tells the peer. A missing counter (expired) counts as the last.
    const std::string copies = copies_key(pipe_id, index);
    std::vector<sdk::Command> count{{"DECR", copies},
                                    {"EXPIRE", copies, rt->store().expiry_text()}};
    auto left = rt->store().pipeline(count);
    check_replies(left, "Connection.close");
    if (left[0].integer > 0) return;
    // The other end may still be read here later: let a lazily connecting transport connect it
    // now, so what this end sent (and its close marker) can be delivered before it goes.
    warm_sibling();
    end()->close();
    // Closed ends are a set, so an end closed twice (a counter that expired) counts once; the
    // second end to close removes the pipe's state.
    const std::string key = closed_key(pipe_id);
    std::vector<sdk::Command> cmds{{"SADD", key, std::to_string(index)},
                                   {"EXPIRE", key, rt->store().expiry_text()},
                                   {"SCARD", key}};
    auto replies = rt->store().pipeline(cmds);
    check_replies(replies, "Connection.close");
    if (replies[2].integer >= 2) {
      pipe_transport(transport_name).destroy(pipe_id);
      rt->store().run({"DEL", key, copies_key(pipe_id, 0), copies_key(pipe_id, 1)});
    }
  } catch (const std::exception& e) {
    if (!quiet) {
      if (dynamic_cast<const Error*>(&e)) throw;
      throw OSError(std::string("Connection.close: ") + e.what());
    }
    std::fprintf(stderr, "lithops: closing pipe %s end %d: %s\n", pipe_id.c_str(), index, e.what());
  }
}

}  // namespace detail

BufferTooShort::BufferTooShort(std::string message)
    : ProcessError("BufferTooShort: the buffer is too small for the message of " +
                   std::to_string(message.size()) + " bytes (it is in message())"),
      message_(std::move(message)) {}

Connection::Connection() = default;
Connection::Connection(std::shared_ptr<detail::ConnectionState> state) : state_(std::move(state)) {}

std::pair<Connection, Connection> Pipe(bool duplex) {
  auto& rt = detail::Runtime::get();
  const std::string transport = detail::parameters().pipe_connection_type;
  const std::string id = rt.prefix() + "{pipe:" + rt.new_id() + "}";
  detail::pipe_transport(transport).create(id);
  // One copy of each end: the two Connections returned here.
  const std::string expiry = rt.store().expiry_text();
  std::vector<sdk::Command> copies{
      {"SET", detail::ConnectionState::copies_key(id, 0), "1", "EX", expiry},
      {"SET", detail::ConnectionState::copies_key(id, 1), "1", "EX", expiry}};
  detail::check_replies(rt.store().pipeline(copies), "mp::Pipe");
  // Python's Pipe(False) returns (reader, writer).
  auto first =
      std::make_shared<detail::ConnectionState>(id, 0, transport, true, duplex, rt.prefix());
  auto second =
      std::make_shared<detail::ConnectionState>(id, 1, transport, duplex, true, rt.prefix());
  first->sibling = second;
  second->sibling = first;
  return {Connection(std::move(first)), Connection(std::move(second))};
}

void tag_invoke(json::value_from_tag, json::value& v, const Connection& c) {
  if (!c.state_ || c.state_->closed) throw OSError("cannot pass a closed Connection");
  // The copy travelling in `v` holds the end until its receiver closes it.
  c.state_->exporting();
  const auto& s = *c.state_;
  v = json::object{{"$lithops", "connection"},
                   {"key", s.pipe_id},
                   {"props",
                    {{"end", s.index},
                     {"transport", s.transport_name},
                     {"readable", s.readable},
                     {"writable", s.writable},
                     {"session", s.session}}}};
}

Connection tag_invoke(json::value_to_tag<Connection>, const json::value& v) {
  auto ref = detail::ObjectRef::attach(v, "connection");
  const auto& p = ref.properties();
  try {
    const auto index = p.at("end").to_number<int>();
    if (index != 0 && index != 1) throw TypeError("end must be 0 or 1");
    return Connection(std::make_shared<detail::ConnectionState>(
        ref.key(), index, std::string(p.at("transport").as_string()), p.at("readable").as_bool(),
        p.at("writable").as_bool(), std::string(p.at("session").as_string())));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw TypeError("malformed Connection handle " + json::serialize(v) + ": " + e.what());
  }
}

}  // namespace lithops::multiprocessing
