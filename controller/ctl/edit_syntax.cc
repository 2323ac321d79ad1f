#include "controller/ctl/edit_syntax.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace writeback::ctl {

absl::StatusOr<std::vector<writeback::v1::AttributeEdit>> ParseEdits(
    const std::vector<std::string>& args) {
  std::vector<writeback::v1::AttributeEdit> edits;
  std::map<std::string, size_t> replace_index;  // attribute -> its replace edit
  for (const std::string& arg : args) {
    size_t n = 0;
    while (n < arg.size() && (absl::ascii_isalnum(arg[n]) || arg[n] == '-')) ++n;
    // A trailing '-' belongs to "-=", not to the name.
    if (n > 0 && arg[n - 1] == '-' && n < arg.size() && arg[n] == '=') --n;
    std::string name = arg.substr(0, n);
    std::string rest = arg.substr(n);
    if (name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "edit \"", arg, "\": expected ATTRIBUTE=VALUE, +=, -=, := or ATTRIBUTE!"));
    }
    writeback::v1::AttributeEdit edit;
    edit.set_attribute(name);
    if (rest == "!") {
      edit.set_clear(true);
    } else if (absl::StartsWith(rest, "+=")) {
      edit.mutable_add()->add_values(rest.substr(2));
    } else if (absl::StartsWith(rest, "-=")) {
      edit.mutable_remove()->add_values(rest.substr(2));
    } else if (absl::StartsWith(rest, ":=")) {
      std::string value = rest.substr(2);
      auto it = replace_index.find(absl::AsciiStrToLower(name));
      if (it != replace_index.end()) {
        if (!value.empty()) edits[it->second].mutable_replace()->add_values(value);
        continue;
      }
      edit.mutable_replace();
      if (!value.empty()) edit.mutable_replace()->add_values(value);
      replace_index[absl::AsciiStrToLower(name)] = edits.size();
    } else if (absl::StartsWith(rest, "=")) {
      std::string value = rest.substr(1);
      if (value.empty()) {
        edit.set_clear(true);
      } else {
        edit.set_set(value);
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "edit \"", arg, "\": expected ATTRIBUTE=VALUE, +=, -=, := or ATTRIBUTE!"));
    }
    edits.push_back(std::move(edit));
  }
  return edits;
}

}  // namespace writeback::ctl
