// The `aws_lambda` config section: types, ranges and the credentials search order.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "lambda_config.hpp"
#include "lithops/sdk/errors.hpp"

namespace aws = lithops::aws;
namespace json = boost::json;

namespace {

// Keeps the process environment free of the developer's own AWS settings during a test.
class LambdaConfigTest : public testing::Test {
 protected:
  void SetUp() override {
    for (const char* v :
         {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
          "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "HOME"}) {
      if (const char* old = std::getenv(v)) saved_.emplace_back(v, old);
      ::unsetenv(v);
    }
    char tmpl[] = "/tmp/lithops-lambda-config-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override {
    for (const auto& [k, v] : saved_) ::setenv(k.c_str(), v.c_str(), 1);
    std::filesystem::remove_all(dir_);
  }
  static aws::LambdaConfig parse(const char* text) {
    const auto v = json::parse(text);
    return aws::LambdaConfig::parse(&v.as_object());
  }
  std::vector<std::pair<std::string, std::string>> saved_;
  std::filesystem::path dir_;
};

const char* kKeys = R"("access_key_id": "AKID", "secret_access_key": "SECRET")";

TEST_F(LambdaConfigTest, ReadsEveryKey) {
  const auto c = parse(R"({"region": "eu-west-1", "access_key_id": "AKID",
      "secret_access_key": "SECRET", "session_token": "TOKEN",
      "execution_role": "arn:aws:iam::1:role/r", "memory": 2048, "timeout": 60,
      "architecture": "arm64", "function_name": "my-fn", "endpoint_url": "http://127.0.0.1:9/",
      "invocation_type": "Event", "max_retries": 3})");
  EXPECT_EQ(c.region, "eu-west-1");
  EXPECT_EQ(c.credentials.access_key_id, "AKID");
  EXPECT_EQ(c.credentials.session_token, "TOKEN");
  EXPECT_EQ(c.execution_role, "arn:aws:iam::1:role/r");
  EXPECT_EQ(c.memory, 2048);
  EXPECT_EQ(c.timeout, 60);
  EXPECT_EQ(c.architecture, "arm64");
  EXPECT_EQ(c.resolve_function_name("/x/prog"), "my-fn");
  EXPECT_EQ(c.endpoint_url, "http://127.0.0.1:9");
  EXPECT_EQ(c.invocation_type, aws::InvocationType::kEvent);
  EXPECT_EQ(c.max_retries, 3);
  EXPECT_EQ(aws::max_payload_bytes(c.invocation_type), 1024u * 1024);
}

TEST_F(LambdaConfigTest, DefaultsFollowTheRegion) {
  const auto c = parse((std::string("{") + kKeys + "}").c_str());
  EXPECT_EQ(c.region, "us-east-1");
  EXPECT_EQ(c.endpoint_url, "https://lambda.us-east-1.amazonaws.com");
  EXPECT_EQ(c.invocation_type, aws::InvocationType::kRequestResponse);
  EXPECT_EQ(aws::max_payload_bytes(c.invocation_type), 6u * 1024 * 1024);
  EXPECT_EQ(c.resolve_function_name("/build/my prog.v2"), "lithops-my-prog-v2");
}

TEST_F(LambdaConfigTest, WrongTypesNameTheKey) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"memory": "big"})", "aws_lambda.memory"},
      {R"({"memory": 64})", "aws_lambda.memory"},
      {R"({"timeout": 901})", "aws_lambda.timeout"},
      {R"({"timeout": 2.5})", "aws_lambda.timeout"},
      {R"({"region": 5})", "aws_lambda.region"},
      {R"({"architecture": "sparc"})", "aws_lambda.architecture"},
      {R"({"invocation_type": "Async"})", "aws_lambda.invocation_type"},
      {R"({"function_name": "a:b"})", "aws_lambda.function_name"},
      {R"({"endpoint_url": "localhost:9000"})", "aws_lambda.endpoint_url"},
      {R"({"max_retries": -1})", "aws_lambda.max_retries"},
      {R"({"access_key_id": "only-the-id"})", "aws_lambda.secret_access_key"},
  };
  for (const auto& [text, key] : cases) {
    try {
      parse(text);
      ADD_FAILURE() << text << " was accepted";
    } catch (const lithops::sdk::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << text << ": " << e.what();
    }
  }
}

TEST_F(LambdaConfigTest, CredentialsComeFromTheEnvironmentWhenTheSectionHasNone) {
  ::setenv("AWS_ACCESS_KEY_ID", "ENVID", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
  ::setenv("AWS_SESSION_TOKEN", "ENVTOKEN", 1);
  auto c = parse("{}");
  EXPECT_EQ(c.credentials.access_key_id, "ENVID");
  EXPECT_EQ(c.credentials.session_token, "ENVTOKEN");
  c = parse((std::string("{") + kKeys + "}").c_str());  // the section wins
  EXPECT_EQ(c.credentials.access_key_id, "AKID");
  EXPECT_EQ(c.credentials.session_token, "");
}

TEST_F(LambdaConfigTest, CredentialsComeFromTheSharedFileProfile) {
  std::filesystem::create_directories(dir_ / ".aws");
  std::ofstream(dir_ / ".aws" / "credentials")
      << "[default]\naws_access_key_id = DEFID\naws_secret_access_key = DEFSECRET\n\n"
      << "# comment\n[work]\naws_access_key_id=WORKID\naws_secret_access_key=WORKSECRET\n"
      << "aws_session_token = WORKTOKEN\n";
  ::setenv("HOME", dir_.c_str(), 1);
  EXPECT_EQ(parse("{}").credentials.access_key_id, "DEFID");
  const auto work = parse(R"({"profile": "work"})");
  EXPECT_EQ(work.credentials.access_key_id, "WORKID");
  EXPECT_EQ(work.credentials.session_token, "WORKTOKEN");
  ::setenv("AWS_PROFILE", "work", 1);
  EXPECT_EQ(parse("{}").credentials.access_key_id, "WORKID");
}

TEST_F(LambdaConfigTest, NoCredentialsAnywhereSaysWhereToPutThem) {
  try {
    parse("{}");
    FAIL() << "accepted without credentials";
  } catch (const lithops::sdk::ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("aws_lambda.access_key_id"), std::string::npos) << m;
    EXPECT_NE(m.find("AWS_ACCESS_KEY_ID"), std::string::npos) << m;
  }
  // The worker side needs none.
  const auto v = json::object{};
  EXPECT_NO_THROW(aws::LambdaConfig::parse(&v, /*need_credentials=*/false));
}

}  // namespace
