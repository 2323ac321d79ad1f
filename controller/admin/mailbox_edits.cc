#include "controller/admin/mailbox_edits.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/attributes/catalog.h"
#include "common/attributes/validation.h"
#include "common/base/status_macros.h"

namespace writeback::controller {
namespace {

using writeback::v1::AttributeEdit;
using writeback::v1::AttributeMap;

absl::Status EditError(const AttributeSpec& spec, const std::string& reason) {
  return absl::InvalidArgumentError(absl::StrCat(std::string(spec.name), ": ", reason));
}

absl::StatusOr<const AttributeSpec*> LookUp(const std::string& name) {
  const AttributeSpec* spec = AttributeCatalog::Default().Find(name);
  if (spec == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "attribute ", QuoteForError(name), " is not an attribute writeback carries (known: ",
        absl::StrJoin(AttributeCatalog::Default().DefaultAllowlist(), ", "), ")"));
  }
  if (!spec->in_default_set) {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(spec->name), ": this attribute is opt-in per forest and not enabled for this forest"));
  }
  return spec;
}

// The same value as the directory sees it: ignoring case entirely, even the
// proxyAddresses prefix (ValuesEqual keeps SMTP: and smtp: apart because a
// primary switch is a change worth writing; removing smtp:x when SMTP:x is
// stored still means that address).
bool SameInDirectory(const AttributeSpec& spec, const std::string& a, const std::string& b) {
  return ValuesEqual(spec, a, b) ||
         ValuesEqual(spec, absl::AsciiStrToLower(a), absl::AsciiStrToLower(b));
}

bool Contains(const AttributeSpec& spec, const std::vector<std::string>& set,
              const std::string& value) {
  for (const auto& v : set) {
    if (SameInDirectory(spec, v, value)) return true;
  }
  return false;
}

absl::Status ApplyOne(const AttributeEdit& edit, const AttributeSpec& spec,
                      std::vector<std::string>* values) {
  switch (edit.op_case()) {
    case AttributeEdit::kSet:
      if (spec.multi_valued) {
        return EditError(spec, "is multi-valued: use add, remove or replace, not set");
      }
      WB_RETURN_IF_ERROR(ValidateValue(spec, edit.set()));
      *values = {CanonicalValue(spec, edit.set())};
      return absl::OkStatus();
    case AttributeEdit::kClear:
      values->clear();
      return absl::OkStatus();
    case AttributeEdit::kAdd:
    case AttributeEdit::kRemove:
    case AttributeEdit::kReplace: {
      if (!spec.multi_valued) {
        return EditError(spec, "is single-valued: use set or clear");
      }
      const auto& given = edit.op_case() == AttributeEdit::kAdd      ? edit.add().values()
                          : edit.op_case() == AttributeEdit::kRemove ? edit.remove().values()
                                                                     : edit.replace().values();
      if (edit.op_case() == AttributeEdit::kReplace) values->clear();
      for (const std::string& raw : given) {
        WB_RETURN_IF_ERROR(ValidateValue(spec, raw));
        std::string value = CanonicalValue(spec, raw);
        bool present = Contains(spec, *values, value);
        if (edit.op_case() == AttributeEdit::kRemove) {
          if (!present) {
            return EditError(spec, absl::StrCat("\"", value, "\" is not present, nothing to remove"));
          }
          for (auto it = values->begin(); it != values->end(); ++it) {
            if (SameInDirectory(spec, *it, value)) {
              values->erase(it);
              break;
            }
          }
        } else {
          if (present) {
            return EditError(spec, absl::StrCat("\"", value,
                                                "\" is already present (values are compared "
                                                "ignoring case)"));
          }
          values->push_back(value);
        }
      }
      return absl::OkStatus();
    }
    case AttributeEdit::OP_NOT_SET:
      break;
  }
  return EditError(spec, "edit has no operation (set, clear, add, remove or replace)");
}

}  // namespace

absl::Status ApplyEdits(const google::protobuf::RepeatedPtrField<AttributeEdit>& edits,
                        AttributeMap* desired) {
  AttributeMap result = *desired;
  std::vector<const AttributeSpec*> touched;
  for (const AttributeEdit& edit : edits) {
    WB_ASSIGN_OR_RETURN(const AttributeSpec* spec, LookUp(edit.attribute()));
    std::string key(spec->name);  // canonical spelling
    auto& stored = (*result.mutable_attributes())[key];
    std::vector<std::string> values(stored.values().begin(), stored.values().end());
    WB_RETURN_IF_ERROR(ApplyOne(edit, *spec, &values));
    stored.clear_values();
    for (auto& v : values) stored.add_values(std::move(v));
    touched.push_back(spec);
  }
  for (const AttributeSpec* spec : touched) {
    const auto& stored = result.attributes().at(std::string(spec->name));
    WB_RETURN_IF_ERROR(ValidateValues(*spec, {stored.values().begin(), stored.values().end()}));
  }
  *desired = std::move(result);
  return absl::OkStatus();
}

bool SameDesiredState(const AttributeMap& a, const AttributeMap& b) {
  if (a.attributes().size() != b.attributes().size()) return false;
  for (const auto& [name, values] : a.attributes()) {
    auto it = b.attributes().find(name);
    if (it == b.attributes().end()) return false;
    const AttributeSpec* spec = AttributeCatalog::Default().Find(name);
    std::vector<std::string> x(values.values().begin(), values.values().end());
    std::vector<std::string> y(it->second.values().begin(), it->second.values().end());
    if (spec == nullptr ? x != y : !SetsEqual(*spec, x, y)) return false;
  }
  return true;
}

}  // namespace writeback::controller
