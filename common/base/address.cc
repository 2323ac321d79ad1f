#include "common/base/address.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace writeback {

bool IsLoopbackAddress(absl::string_view host_port) {
  absl::string_view host = host_port;
  if (absl::StartsWith(host, "[")) {
    size_t close = host.find(']');
    host = close == absl::string_view::npos ? absl::string_view() : host.substr(1, close - 1);
  } else if (size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
    host = host.substr(0, colon);
  }
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

absl::Status CheckListenAddress(absl::string_view field, absl::string_view host_port) {
  if (absl::StartsWith(host_port, "unix:") && host_port.size() > 5) return absl::OkStatus();
  absl::string_view host, port;
  if (absl::StartsWith(host_port, "[")) {
    size_t close = host_port.find("]:");
    if (close != absl::string_view::npos) {
      host = host_port.substr(1, close - 1);
      port = host_port.substr(close + 2);
    }
  } else if (size_t colon = host_port.rfind(':'); colon != absl::string_view::npos) {
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
  }
  uint32_t number = 0;
  const bool digits = !port.empty() && port.size() <= 5 &&
                      std::all_of(port.begin(), port.end(), absl::ascii_isdigit) &&
                      absl::SimpleAtoi(port, &number);
  if (host.empty() || absl::StrContains(host, ' ') || !digits || number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": \"", std::string(host_port),
                     "\" is not host:port with a port 0..65535, e.g. 127.0.0.1:7443"));
  }
  return absl::OkStatus();
}

}  // namespace writeback
