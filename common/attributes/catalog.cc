#include "common/attributes/catalog.h"

#include <utility>

#include "absl/strings/match.h"

namespace writeback {
namespace {

using S = AttributeSyntax;

// Sources, checked against Microsoft's published schema:
// - proxyAddresses: [MS-ADA3] 2.169, attributeId 1.2.840.113556.1.2.210,
//   2.5.5.12, multi-valued, rangeUpper 1123.
// - mail: [MS-ADA2] 2.6, attributeId 0.9.2342.19200300.100.1.3, 2.5.5.12,
//   single-valued, rangeUpper 256.
// - extensionAttribute1-15: Exchange Server 2003 SDK schema pages
//   (ms-Exch-Extension-Attribute-N): 1-10 are 1.2.840.113556.1.2.423-432 with
//   rangeUpper 1024; 11-15 are 1.2.840.113556.1.2.599-603 with rangeUpper
//   2048. Single-valued. (Exchange Online itself caps CustomAttributeN at 1024
//   characters; the schema limit is what AD enforces, so it is used here.)
// - msExchExtensionCustomAttribute1-5: multi-valued Unicode String added in
//   Exchange 2010 SP2; length 1-2048 per the sync engine's type for it
//   (DirectoryPropertyStringLength1To2048). Their attributeIDs could not be
//   confirmed from a public reference, so `oid` is left empty rather than
//   guessed; take them from the Exchange schema .ldf files if needed.
// - msExchRecipientDisplayType 1.2.840.113556.1.4.7000.102.50730 (2.5.5.9) and
//   msExchRecipientTypeDetails 1.2.840.113556.1.4.7000.102.50855 (2.5.5.16):
//   single-valued, no range.
// - msExchHideFromAddressLists 1.2.840.113556.1.4.7000.102.73 (2.5.5.8),
//   single-valued.
std::vector<AttributeSpec> BuiltInSpecs() {
  return {
      {"proxyAddresses", "1.2.840.113556.1.2.210", S::kUnicodeString, true, 1123, true,
       "EmailAddresses"},
      {"mail", "0.9.2342.19200300.100.1.3", S::kUnicodeString, false, 256, true,
       "WindowsEmailAddress"},
      {"extensionAttribute1", "1.2.840.113556.1.2.423", S::kUnicodeString, false, 1024, true,
       "CustomAttribute1"},
      {"extensionAttribute2", "1.2.840.113556.1.2.424", S::kUnicodeString, false, 1024, true,
       "CustomAttribute2"},
      {"extensionAttribute3", "1.2.840.113556.1.2.425", S::kUnicodeString, false, 1024, true,
       "CustomAttribute3"},
      {"extensionAttribute4", "1.2.840.113556.1.2.426", S::kUnicodeString, false, 1024, true,
       "CustomAttribute4"},
      {"extensionAttribute5", "1.2.840.113556.1.2.427", S::kUnicodeString, false, 1024, true,
       "CustomAttribute5"},
      {"extensionAttribute6", "1.2.840.113556.1.2.428", S::kUnicodeString, false, 1024, true,
       "CustomAttribute6"},
      {"extensionAttribute7", "1.2.840.113556.1.2.429", S::kUnicodeString, false, 1024, true,
       "CustomAttribute7"},
      {"extensionAttribute8", "1.2.840.113556.1.2.430", S::kUnicodeString, false, 1024, true,
       "CustomAttribute8"},
      {"extensionAttribute9", "1.2.840.113556.1.2.431", S::kUnicodeString, false, 1024, true,
       "CustomAttribute9"},
      {"extensionAttribute10", "1.2.840.113556.1.2.432", S::kUnicodeString, false, 1024, true,
       "CustomAttribute10"},
      {"extensionAttribute11", "1.2.840.113556.1.2.599", S::kUnicodeString, false, 2048, true,
       "CustomAttribute11"},
      {"extensionAttribute12", "1.2.840.113556.1.2.600", S::kUnicodeString, false, 2048, true,
       "CustomAttribute12"},
      {"extensionAttribute13", "1.2.840.113556.1.2.601", S::kUnicodeString, false, 2048, true,
       "CustomAttribute13"},
      {"extensionAttribute14", "1.2.840.113556.1.2.602", S::kUnicodeString, false, 2048, true,
       "CustomAttribute14"},
      {"extensionAttribute15", "1.2.840.113556.1.2.603", S::kUnicodeString, false, 2048, true,
       "CustomAttribute15"},
      {"msExchExtensionCustomAttribute1", "", S::kUnicodeString, true, 2048, true,
       "ExtensionCustomAttribute1"},
      {"msExchExtensionCustomAttribute2", "", S::kUnicodeString, true, 2048, true,
       "ExtensionCustomAttribute2"},
      {"msExchExtensionCustomAttribute3", "", S::kUnicodeString, true, 2048, true,
       "ExtensionCustomAttribute3"},
      {"msExchExtensionCustomAttribute4", "", S::kUnicodeString, true, 2048, true,
       "ExtensionCustomAttribute4"},
      {"msExchExtensionCustomAttribute5", "", S::kUnicodeString, true, 2048, true,
       "ExtensionCustomAttribute5"},
      {"msExchRecipientDisplayType", "1.2.840.113556.1.4.7000.102.50730", S::kInteger, false, 0,
       true, "Type"},
      {"msExchRecipientTypeDetails", "1.2.840.113556.1.4.7000.102.50855", S::kLargeInteger, false,
       0, true, "Type"},
      // Opt-in per forest; the reference product does not write it back.
      {"msExchHideFromAddressLists", "1.2.840.113556.1.4.7000.102.73", S::kBoolean, false, 0, false,
       "HiddenFromAddressListsEnabled"},
  };
}

}  // namespace

std::string_view AttributeSyntaxName(AttributeSyntax syntax) {
  switch (syntax) {
    case AttributeSyntax::kUnicodeString:
      return "Unicode String";
    case AttributeSyntax::kInteger:
      return "Integer";
    case AttributeSyntax::kLargeInteger:
      return "Large Integer";
    case AttributeSyntax::kBoolean:
      return "Boolean";
  }
  return "unknown syntax";
}

const AttributeCatalog& AttributeCatalog::Default() {
  static const AttributeCatalog* const kCatalog = new AttributeCatalog(BuiltInSpecs());
  return *kCatalog;
}

AttributeCatalog::AttributeCatalog(std::vector<AttributeSpec> specs) : specs_(std::move(specs)) {}

const AttributeSpec* AttributeCatalog::Find(std::string_view name) const {
  for (const AttributeSpec& spec : specs_) {
    // absl::string_view is not std::string_view in Debian's Abseil.
    if (absl::EqualsIgnoreCase(absl::string_view(spec.name.data(), spec.name.size()),
                               absl::string_view(name.data(), name.size()))) {
      return &spec;
    }
  }
  return nullptr;
}

std::vector<std::string> AttributeCatalog::DefaultAllowlist() const {
  std::vector<std::string> names;
  for (const AttributeSpec& spec : specs_) {
    if (spec.in_default_set) names.emplace_back(spec.name);
  }
  return names;
}

}  // namespace writeback
