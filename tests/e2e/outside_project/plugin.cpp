// A third-party StateStore plugin compiled with nothing but the installed SDK headers: it only
// has to build and export what the loader checks (this test does not load it).
#include <stdexcept>

#include <lithops/sdk/errors.hpp>
#include <lithops/sdk/plugin.hpp>

namespace {
class OutsideStore : public lithops::sdk::StateStore {
 public:
  explicit OutsideStore(const lithops::sdk::PluginContext&) {
    throw lithops::sdk::ConfigError("the outside store is a build check only");
  }
  lithops::sdk::Reply execute(lithops::sdk::CommandArgs, std::chrono::milliseconds) override {
    return {};
  }
  std::vector<lithops::sdk::Reply> execute_pipeline(std::span<const lithops::sdk::Command>,
                                                    std::chrono::milliseconds) override {
    return {};
  }
  std::unique_ptr<lithops::sdk::Subscription> subscribe(std::span<const std::string>) override {
    return nullptr;
  }
  boost::json::object connection_config() const override { return {}; }
  std::string endpoint() const override { return "outside"; }
};
}  // namespace

LITHOPS_STATE_STORE_PLUGIN("outside", OutsideStore)
