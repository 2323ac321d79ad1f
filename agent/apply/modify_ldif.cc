#include "agent/apply/modify_ldif.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace writeback::agent {
namespace {

bool IsSafeString(const std::string& s) {
  if (s.empty()) return true;
  const unsigned char first = static_cast<unsigned char>(s.front());
  if (first == ' ' || first == ':' || first == '<') return false;
  if (s.back() == ' ') return false;
  for (unsigned char c : s) {
    if (c == 0 || c == '\n' || c == '\r' || c >= 0x80 || c < 0x20 || c == 0x7f) {
      return false;
    }
  }
  return true;
}

void AppendLine(const std::string& name, const std::string& value,
                std::string* out) {
  if (IsSafeString(value)) {
    absl::StrAppend(out, name, ": ", value, "\n");
  } else {
    absl::StrAppend(out, name, ":: ", absl::Base64Escape(value), "\n");
  }
}

const char* OpName(ModOp op) {
  switch (op) {
    case ModOp::kAdd: return "add";
    case ModOp::kDelete: return "delete";
    case ModOp::kReplace: return "replace";
  }
  return "replace";
}

}  // namespace

std::string ModifyToLdif(const std::string& dn,
                         const std::vector<Modification>& mods) {
  std::string out;
  AppendLine("dn", dn, &out);
  out += "changetype: modify\n";
  for (const Modification& mod : mods) {
    absl::StrAppend(&out, OpName(mod.op), ": ", mod.attribute, "\n");
    for (const std::string& value : mod.values) {
      AppendLine(mod.attribute, value, &out);
    }
    out += "-\n";
  }
  return out;
}

}  // namespace writeback::agent
