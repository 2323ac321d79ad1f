#include "agent/apply/observation.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "common/identity/anchor.h"

namespace writeback::agent {
namespace {

// Debian's Abseil has its own string_view type: convert explicitly.
std::string S(std::string_view s) { return std::string(s); }

const std::vector<std::string>& Values(const DirectoryEntry& entry, std::string_view name) {
  static const std::vector<std::string>* const kEmpty = new std::vector<std::string>();
  auto it = entry.attributes.find(absl::AsciiStrToLower(S(name)));
  return it == entry.attributes.end() ? *kEmpty : it->second;
}

}  // namespace

std::vector<std::string> ObservationAttributes(const PolicyChecker& checker) {
  std::vector<std::string> out;
  for (const AttributeSpec* spec : checker.allowed()) out.push_back(S(spec->name));
  for (const char* extra : {"objectGUID", "mS-DS-ConsistencyGuid", "uSNChanged", "whenChanged"}) {
    out.push_back(extra);
  }
  return out;
}

void FillObservation(const PolicyChecker& checker, const DirectoryEntry& entry,
                     v1::ObservedObject* out) {
  out->set_dn(entry.dn);
  for (const AttributeSpec* spec : checker.allowed()) {
    v1::AttributeValues& values = (*out->mutable_attributes()->mutable_attributes())[S(spec->name)];
    values.clear_values();
    for (const std::string& v : Values(entry, spec->name)) values.add_values(v);
  }
  const std::vector<std::string>& usn = Values(entry, "uSNChanged");
  int64_t usn_changed = 0;
  if (!usn.empty() && absl::SimpleAtoi(usn[0], &usn_changed)) out->set_usn_changed(usn_changed);
  const std::vector<std::string>& when = Values(entry, "whenChanged");
  if (!when.empty()) out->set_when_changed(when[0]);
  const std::vector<std::string>& guid = Values(entry, "objectGUID");
  if (!guid.empty()) out->set_object_guid(guid[0]);
}

std::string SourceAnchorOf(const DirectoryEntry& entry) {
  const std::vector<std::string>& consistency = Values(entry, "mS-DS-ConsistencyGuid");
  if (!consistency.empty() && consistency[0].size() == kAnchorSize) return consistency[0];
  const std::vector<std::string>& guid = Values(entry, "objectGUID");
  return guid.empty() ? "" : guid[0];
}

}  // namespace writeback::agent
