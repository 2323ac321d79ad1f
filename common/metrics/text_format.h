// The Prometheus text exposition format 0.0.4 of a Registry:
//
//   # HELP writeback_agent_jobs_total Jobs answered, by outcome.
//   # TYPE writeback_agent_jobs_total counter
//   writeback_agent_jobs_total{outcome="APPLIED"} 40
//   # TYPE writeback_agent_ldap_operation_seconds histogram
//   writeback_agent_ldap_operation_seconds_bucket{operation="modify",le="0.005"}
//   31
//   writeback_agent_ldap_operation_seconds_bucket{operation="modify",le="+Inf"}
//   40 writeback_agent_ldap_operation_seconds_sum{operation="modify"} 0.171
//   writeback_agent_ldap_operation_seconds_count{operation="modify"} 40
//
// Families appear in registration order, series in label order; a family
// without series shows only its HELP and TYPE lines.
#ifndef WRITEBACK_COMMON_METRICS_TEXT_FORMAT_H_
#define WRITEBACK_COMMON_METRICS_TEXT_FORMAT_H_

#include <string>

#include "common/metrics/registry.h"

namespace writeback::metrics {

// The Content-Type of RenderText's output.
inline constexpr char kTextContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// Runs the registry's collectors, then renders every family.
std::string RenderText(const Registry& registry);

// A label value inside double quotes: backslash, double quote and line feed
// escaped as \\, \" and \n.
std::string EscapeLabelValue(const std::string& value);
// HELP text: backslash and line feed escaped.
std::string EscapeHelp(const std::string& help);
// A sample value: integers without exponent or fraction, +Inf, -Inf, NaN,
// other values with enough digits to read back the same double.
std::string FormatValue(double v);

}  // namespace writeback::metrics

#endif  // WRITEBACK_COMMON_METRICS_TEXT_FORMAT_H_
