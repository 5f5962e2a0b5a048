// A minimal pipe transport plugin: what end i sends goes to the state store list
// "<pipe id>:to<1-i>", which end 1-i pops. Each message is stored with a one-byte tag ('m' a
// message, 'c' the sender closed), so the close marker cannot be mistaken for data. Select it
// with mp::config::set_parameter(mp::config::PIPE_CONNECTION_TYPE, "example_lists").
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <lithops/sdk/blocking.hpp>
#include <lithops/sdk/errors.hpp>
#include <lithops/sdk/plugin.hpp>

namespace sdk = lithops::sdk;

namespace {

class ListEnd : public sdk::PipeEnd {
 public:
  ListEnd(sdk::StateStore& store, const std::string& id, int end, long long expiry)
      : store_(store),
        out_(id + ":to" + std::to_string(1 - end)),
        in_(id + ":to" + std::to_string(end)),
        expiry_(std::to_string(expiry)) {}

  void send(std::string_view message) override {
    if (peer_closed_) throw sdk::PipeClosedError("the other end of the pipe is closed");
    std::string tagged = "m";
    tagged.append(message);
    push(tagged);
  }

  std::optional<std::string> recv(std::optional<std::chrono::milliseconds> timeout) override {
    if (peer_closed_) throw sdk::PipeClosedError("the other end of the pipe is closed");
    // A zero timeout means "do not wait": LPOP instead of a blocking pop.
    std::optional<sdk::Reply> r;
    if (timeout && timeout->count() == 0) {
      sdk::Reply now = sdk::run_checked(store_, {"LPOP", in_});
      if (!now.is_nil()) r = std::move(now);
    } else {
      r = sdk::blocking(store_, {"BLPOP", in_}, timeout);
      if (r) r = std::move(r->elements.at(1));
    }
    if (!r) return std::nullopt;
    if (r->str == "c") {
      peer_closed_ = true;
      throw sdk::PipeClosedError("the other end of the pipe is closed");
    }
    return r->str.substr(1);
  }

  bool poll(std::chrono::milliseconds timeout) override {
    if (peer_closed_) return true;
    if (timeout.count() == 0) return !sdk::run_checked(store_, {"LINDEX", in_, "0"}).is_nil();
    // Wait for an element and put it back where it was: nothing is consumed.
    return sdk::blocking(store_, {"BLMOVE", in_, in_, "LEFT", "LEFT"}, timeout).has_value();
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    push("c");
  }

 private:
  void push(const std::string& tagged) {
    const std::vector<sdk::Command> cmds{{"RPUSH", out_, tagged}, {"EXPIRE", out_, expiry_}};
    for (const auto& r : store_.execute_pipeline(cmds, sdk::kCommandTimeout)) {
      if (r.is_error()) throw sdk::ConnectionError(store_.endpoint() + ": " + r.str);
    }
  }

  sdk::StateStore& store_;
  std::string out_, in_, expiry_;
  bool peer_closed_ = false;
  bool closed_ = false;
};

class ListTransport : public sdk::PipeTransport {
 public:
  explicit ListTransport(const sdk::PluginContext& ctx)
      : store_(*ctx.store), expiry_(ctx.expiry_seconds) {}
  void create(const std::string&) override {}  // the lists appear with the first message
  std::unique_ptr<sdk::PipeEnd> attach(const std::string& id, int end) override {
    return std::make_unique<ListEnd>(store_, id, end, expiry_);
  }
  void destroy(const std::string& id) override {
    sdk::run_checked(store_, {"DEL", id + ":to0", id + ":to1"});
  }

 private:
  sdk::StateStore& store_;
  long long expiry_;
};

}  // namespace

LITHOPS_PIPE_TRANSPORT_PLUGIN("example_lists", ListTransport)
