// The Lambda service's REST API, signed with SigV4: Invoke for the executor, and the function
// management calls for `lithops runtime` (CreateFunction, UpdateFunctionCode, ...).
#pragma once

#include <boost/json/object.hpp>
#include <stdexcept>
#include <string>

#include "http_client.hpp"
#include "lambda_config.hpp"

namespace lithops::aws {

// A Lambda API call that failed: the HTTP status (0 for no response), the AWS error type
// (ResourceNotFoundException, ...) and its message.
class LambdaApiError : public std::runtime_error {
 public:
  LambdaApiError(long status, std::string type, const std::string& message);
  long status() const { return status_; }
  const std::string& type() const { return type_; }

 private:
  long status_;
  std::string type_;
};

class LambdaApi {
 public:
  // Uses `client` for every call; both must outlive this object.
  LambdaApi(const LambdaConfig& config, HttpClient& client);

  // Adds Host, X-Amz-Date, X-Amz-Security-Token and Authorization for the request as it stands.
  void sign(HttpRequest& request) const;
  RetryPolicy retry_policy() const;

  // The unsigned Invoke request (sign it per attempt, through HttpClient's prepare hook).
  HttpRequest invoke_request(const std::string& function, std::string payload,
                             InvocationType type) const;

  // Synchronous management calls; each returns the parsed JSON answer or throws LambdaApiError.
  boost::json::object create_function(const boost::json::object& request);
  boost::json::object update_function_code(const std::string& function,
                                           const boost::json::object& request);
  boost::json::object update_function_configuration(const std::string& function,
                                                    const boost::json::object& request);
  boost::json::object get_function_configuration(const std::string& function);
  boost::json::object get_function(const std::string& function);
  // Follows NextMarker until every page is read.
  boost::json::array list_functions();
  void delete_function(const std::string& function);

  // Generic call: `path` below the endpoint ("/2015-03-31/functions"), `body` JSON or empty.
  // Any 2xx answer is success.
  boost::json::object call(const std::string& method, const std::string& path,
                           const std::string& body);

 private:
  const LambdaConfig& config_;
  HttpClient& client_;
  std::string host_;    // host[:port] for the Host header
  std::string prefix_;  // path part of endpoint_url, usually empty
};

}  // namespace lithops::aws
