// Base64 (RFC 4648, with padding) on OpenSSL: ZipFile in CreateFunction, CodeSha256.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lithops::aws {

std::string base64_encode(std::string_view data);
// nullopt if `text` is not valid padded base64.
std::optional<std::string> base64_decode(std::string_view text);
// Base64 of the raw SHA-256 digest, as Lambda reports CodeSha256.
std::string sha256_base64(std::string_view data);

}  // namespace lithops::aws
