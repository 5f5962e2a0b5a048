// The only translation unit that includes Boost.Asio and Boost.Beast.
#include "event_loop.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

namespace lithops::emulator {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string Request::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (beast::iequals(n, name)) return v;
  }
  return {};
}

std::string Request::query() const {
  const auto q = target.find('?');
  return q == std::string::npos ? std::string() : target.substr(q + 1);
}

namespace {

class Session;

struct ListenerState {
  explicit ListenerState(asio::io_context& io) : acceptor(io) {}
  tcp::acceptor acceptor;
  Handler handler;
  std::size_t max_body = 0;
  std::set<std::shared_ptr<Session>> sessions;  // open connections, closed with the listener
  bool closed = false;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<ListenerState> listener)
      : stream_(std::move(socket)), listener_(std::move(listener)) {}

  void read() {
    parser_.emplace();
    parser_->body_limit(listener_->max_body);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
    listener_->sessions.erase(shared_from_this());
  }

 private:
  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      write({413,
             {{"X-Amzn-ErrorType", "RequestEntityTooLargeException"},
              {"Content-Type", "application/json"}},
             R"({"Type":"User","message":"Request must be smaller than )" +
                 std::to_string(listener_->max_body) + R"( bytes"})"});
      return;
    }
    if (ec) {
      close();
      return;
    }
    auto req = parser_->release();
    keep_alive_ = req.keep_alive();
    Request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    for (const auto& field : req) {
      r.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    r.body = std::move(req.body());
    auto answered = std::make_shared<bool>(false);
    listener_->handler(std::move(r), Respond([self = shared_from_this(), answered](
                                                 Response response, std::function<void()> sent) {
                         if (*answered) return;
                         *answered = true;
                         self->write(std::move(response), std::move(sent));
                       }));
  }

  void write(Response response, std::function<void()> sent = {}) {
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(response.status));
    for (auto& [name, value] : response.headers) response_.insert(name, value);
    response_.body() = std::move(response.body);
    response_.keep_alive(keep_alive_);
    response_.prepare_payload();
    http::async_write(
        stream_, response_,
        [self = shared_from_this(), sent = std::move(sent)](beast::error_code ec, std::size_t) {
          if (sent) sent();
          if (ec || !self->keep_alive_) {
            self->close();
          } else {
            self->read();
          }
        });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::shared_ptr<ListenerState> listener_;
  bool keep_alive_ = true;
};

void accept(const std::shared_ptr<ListenerState>& l) {
  l->acceptor.async_accept([l](beast::error_code ec, tcp::socket socket) {
    if (l->closed) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      auto s = std::make_shared<Session>(std::move(socket), l);
      l->sessions.insert(s);
      s->read();
    }
    accept(l);
  });
}

}  // namespace

struct EventLoop::Impl {
  explicit Impl(std::size_t max) : max_body(max) {}
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  std::size_t max_body;
  int next_listener = 0;
  std::map<int, std::shared_ptr<ListenerState>> listeners;
  std::uint64_t next_timer = 0;
  std::map<std::uint64_t, std::unique_ptr<asio::steady_timer>> timers;
  std::map<int, std::unique_ptr<asio::posix::stream_descriptor>> watches;
  std::optional<asio::signal_set> signals;
};

EventLoop::EventLoop(std::size_t max_body_bytes) : impl_(std::make_unique<Impl>(max_body_bytes)) {}

EventLoop::~EventLoop() {
  for (auto& [fd, sd] : impl_->watches) sd->release();  // the caller owns the descriptors
}

EventLoop::Listener EventLoop::listen(const std::string& address, unsigned short port,
                                      Handler handler) {
  auto l = std::make_shared<ListenerState>(impl_->io);
  l->handler = std::move(handler);
  l->max_body = impl_->max_body;
  beast::error_code ec;
  const tcp::endpoint endpoint(asio::ip::make_address(address, ec), port);
  if (ec) throw std::runtime_error("bad listen address '" + address + "': " + ec.message());
  l->acceptor.open(endpoint.protocol(), ec);
  if (!ec) l->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) l->acceptor.bind(endpoint, ec);
  if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + address + ":" + std::to_string(port) + ": " +
                             ec.message());
  }
  const int id = ++impl_->next_listener;
  impl_->listeners[id] = l;
  accept(l);
  return {id, l->acceptor.local_endpoint().port()};
}

void EventLoop::close(int listener_id) {
  auto it = impl_->listeners.find(listener_id);
  if (it == impl_->listeners.end()) return;
  auto l = it->second;
  impl_->listeners.erase(it);
  l->closed = true;
  beast::error_code ec;
  l->acceptor.close(ec);
  auto sessions = l->sessions;
  for (const auto& s : sessions) s->close();
}

void EventLoop::post(std::function<void()> fn) { asio::post(impl_->io, std::move(fn)); }

std::uint64_t EventLoop::set_timer(std::chrono::milliseconds delay, std::function<void()> fn) {
  const auto id = ++impl_->next_timer;
  auto timer = std::make_unique<asio::steady_timer>(impl_->io, delay);
  timer->async_wait([this, id, fn = std::move(fn)](beast::error_code ec) {
    if (ec) return;
    impl_->timers.erase(id);
    fn();
  });
  impl_->timers[id] = std::move(timer);
  return id;
}

void EventLoop::cancel_timer(std::uint64_t id) {
  auto it = impl_->timers.find(id);
  if (it == impl_->timers.end()) return;
  it->second->cancel();
  impl_->timers.erase(it);
}

void EventLoop::watch_readable(int fd, std::function<void()> fn) {
  auto sd = std::make_unique<asio::posix::stream_descriptor>(impl_->io, fd);
  sd->async_wait(asio::posix::stream_descriptor::wait_read,
                 [this, fd, fn = std::move(fn)](beast::error_code ec) {
                   if (ec) return;
                   unwatch(fd);
                   fn();
                 });
  impl_->watches[fd] = std::move(sd);
}

void EventLoop::unwatch(int fd) {
  auto it = impl_->watches.find(fd);
  if (it == impl_->watches.end()) return;
  it->second->cancel();
  it->second->release();
  // Destroyed later: a cancelled wait still holds a reference to the descriptor object.
  asio::post(impl_->io,
             [sd = std::shared_ptr<asio::posix::stream_descriptor>(std::move(it->second))] {});
  impl_->watches.erase(it);
}

void EventLoop::run() { impl_->io.run(); }

void EventLoop::stop() { impl_->io.stop(); }

void EventLoop::stop_on_signals() {
  impl_->signals.emplace(impl_->io, SIGINT, SIGTERM);
  impl_->signals->async_wait([this](beast::error_code ec, int) {
    if (!ec) stop();
  });
}

}  // namespace lithops::emulator
