// A minimal state store plugin: the Redis protocol (RESP2) over plain TCP sockets, one connection
// per call in flight (idle ones are kept for reuse), so a blocking command never delays another
// thread. Configure it with
//   "lithops": {"state_store": "example_resp"},
//   "example_resp": {"host": "127.0.0.1", "port": 6379}
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <lithops/sdk/errors.hpp>
#include <lithops/sdk/plugin.hpp>

namespace sdk = lithops::sdk;

namespace {

const sdk::ConfigSchema kSchema{
    "example_resp",
    "a Redis server over plain TCP",
    {{"host", sdk::ConfigType::kString, "server host", "127.0.0.1"},
     {"port", sdk::ConfigType::kInteger, "server port", "6379", 1, 65535}}};

// One TCP connection with a read buffer; every call is bounded by a deadline.
class Connection {
 public:
  Connection(const std::string& host, int port) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
      throw sdk::ConnectionError("example_resp: cannot resolve " + host);
    }
    fd_ = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool ok = fd_ >= 0 && ::connect(fd_, found->ai_addr, found->ai_addrlen) == 0;
    ::freeaddrinfo(found);
    if (!ok) {
      throw sdk::ConnectionError("example_resp: cannot connect to " + host + ":" +
                                 std::to_string(port) + ": " + std::strerror(errno) +
                                 "; start the server or fix example_resp.host/port");
    }
  }
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }

  void send(const std::vector<std::string_view>& args) {
    std::string out = "*" + std::to_string(args.size()) + "\r\n";
    for (auto a : args) {
      out += "$" + std::to_string(a.size()) + "\r\n";
      out.append(a);
      out += "\r\n";
    }
    for (std::size_t done = 0; done < out.size();) {
      const ssize_t n = ::send(fd_, out.data() + done, out.size() - done, MSG_NOSIGNAL);
      if (n <= 0) throw sdk::ConnectionError("example_resp: connection lost while sending");
      done += static_cast<std::size_t>(n);
    }
  }

  sdk::Reply read(std::chrono::steady_clock::time_point deadline) {
    const std::string line = read_line(deadline);
    sdk::Reply r;
    const std::string rest = line.substr(1);
    switch (line[0]) {
      case '+':
        r.type = sdk::Reply::Type::kStatus;
        r.str = rest;
        break;
      case '-':
        r.type = sdk::Reply::Type::kError;
        r.str = rest;
        break;
      case ':':
        r.type = sdk::Reply::Type::kInteger;
        r.integer = std::stoll(rest);
        break;
      case '$': {
        const long long n = std::stoll(rest);
        if (n < 0) break;  // nil
        r.type = sdk::Reply::Type::kString;
        r.str = read_bytes(static_cast<std::size_t>(n) + 2, deadline);
        r.str.resize(static_cast<std::size_t>(n));
        break;
      }
      case '*': {
        const long long n = std::stoll(rest);
        if (n < 0) break;
        r.type = sdk::Reply::Type::kArray;
        for (long long i = 0; i < n; ++i) r.elements.push_back(read(deadline));
        break;
      }
      default:
        throw sdk::ConnectionError("example_resp: the server sent something that is not RESP");
    }
    return r;
  }

 private:
  void fill(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      throw sdk::ConnectionError("example_resp: no reply from the server in time");
    }
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) throw sdk::ConnectionError("example_resp: the server closed the connection");
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
  std::string read_line(std::chrono::steady_clock::time_point deadline) {
    std::size_t end;
    while ((end = buffer_.find("\r\n")) == std::string::npos) fill(deadline);
    std::string line = buffer_.substr(0, end);
    buffer_.erase(0, end + 2);
    return line;
  }
  std::string read_bytes(std::size_t n, std::chrono::steady_clock::time_point deadline) {
    while (buffer_.size() < n) fill(deadline);
    std::string out = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return out;
  }

  int fd_ = -1;
  std::string buffer_;
};

class RespSubscription : public sdk::Subscription {
 public:
  explicit RespSubscription(std::unique_ptr<Connection> c) : c_(std::move(c)) {}
  std::optional<sdk::PubSubMessage> next(std::chrono::milliseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      sdk::Reply r;
      try {
        r = c_->read(deadline);
      } catch (const sdk::ConnectionError& e) {
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        throw;
      }
      if (r.elements.size() == 3 && r.elements[0].str == "message") {
        return sdk::PubSubMessage{r.elements[1].str, r.elements[2].str};
      }
    }
  }

 private:
  std::unique_ptr<Connection> c_;
};

class RespStore : public sdk::StateStore {
 public:
  explicit RespStore(const sdk::PluginContext& ctx) {
    if (const auto* h = ctx.section->if_contains("host")) host_ = std::string(h->as_string());
    if (const auto* p = ctx.section->if_contains("port")) port_ = static_cast<int>(p->as_int64());
    release(connect());  // fail now, with the reason, if the server is not there
  }

  sdk::Reply execute(sdk::CommandArgs args, std::chrono::milliseconds timeout) override {
    auto c = take();
    c->send({args.begin(), args.end()});
    sdk::Reply r = c->read(std::chrono::steady_clock::now() + timeout);
    release(std::move(c));
    return r;
  }

  std::vector<sdk::Reply> execute_pipeline(std::span<const sdk::Command> commands,
                                           std::chrono::milliseconds timeout) override {
    auto c = take();
    for (const auto& cmd : commands) c->send({cmd.begin(), cmd.end()});
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<sdk::Reply> replies;
    for (std::size_t i = 0; i < commands.size(); ++i) replies.push_back(c->read(deadline));
    release(std::move(c));
    return replies;
  }

  std::unique_ptr<sdk::Subscription> subscribe(std::span<const std::string> channels) override {
    auto c = connect();
    std::vector<std::string_view> args{"SUBSCRIBE"};
    for (const auto& ch : channels) args.push_back(ch);
    c->send(args);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (std::size_t i = 0; i < channels.size(); ++i) c->read(deadline);  // confirmations
    return std::make_unique<RespSubscription>(std::move(c));
  }

  boost::json::object connection_config() const override {
    return {{"host", host_}, {"port", port_}};
  }
  std::string endpoint() const override {
    return "example_resp " + host_ + ":" + std::to_string(port_);
  }

 private:
  std::unique_ptr<Connection> connect() const { return std::make_unique<Connection>(host_, port_); }
  // A connection that failed mid-call is dropped (not released): its state is unknown.
  std::unique_ptr<Connection> take() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    return connect();
  }
  void release(std::unique_ptr<Connection> c) {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(c));
  }

  std::string host_ = "127.0.0.1";
  int port_ = 6379;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace

LITHOPS_STATE_STORE_PLUGIN("example_resp", RespStore)
LITHOPS_PLUGIN_CONFIG(kSchema)
