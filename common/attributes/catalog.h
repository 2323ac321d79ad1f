// The attributes writeback can carry into on-premises Active Directory: the 24
// that the reference product writes back (the default set) plus the opt-in
// msExchHideFromAddressLists. Read this header first in common/attributes.
//
//   const AttributeCatalog& catalog = AttributeCatalog::Default();
//   const AttributeSpec* spec = catalog.Find("ProxyAddresses");  // any case
//   if (spec == nullptr) return absl::InvalidArgumentError("unknown attribute");
//   WB_RETURN_IF_ERROR(ValidateValues(*spec, values));   // validation.h
//
// Schema facts (OID, syntax, single/multi-valued, rangeUpper) come from the AD
// schema ([MS-ADA2]/[MS-ADA3]) and the Exchange schema as published by
// Microsoft; see catalog.cc for the sources and the one gap.
//
// Thread safety: the catalog is immutable; Default() is safe to call from any
// thread and the returned reference lives for the whole program.
#ifndef WRITEBACK_COMMON_ATTRIBUTES_CATALOG_H_
#define WRITEBACK_COMMON_ATTRIBUTES_CATALOG_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace writeback {

// AD attribute syntaxes writeback handles (attributeSyntax in parentheses).
enum class AttributeSyntax {
  kUnicodeString,  // 2.5.5.12, String(Unicode)
  kInteger,        // 2.5.5.9, 32-bit signed
  kLargeInteger,   // 2.5.5.16, 64-bit signed
  kBoolean,        // 2.5.5.8, "TRUE" / "FALSE"
};

// Returns "Unicode String", "Integer", "Large Integer" or "Boolean".
std::string_view AttributeSyntaxName(AttributeSyntax syntax);

struct AttributeSpec {
  std::string_view name;  // canonical lDAPDisplayName, e.g. "proxyAddresses"
  std::string_view oid;   // attributeID; empty where not verified
  AttributeSyntax syntax;
  bool multi_valued;
  size_t max_length;            // rangeUpper in characters for strings, 0 = none
  bool in_default_set;          // one of the 24 the reference product writes
  std::string_view cloud_name;  // Exchange Online property, e.g. "EmailAddresses"
};

// The fixed list of attributes. Not copyable; use Default().
class AttributeCatalog {
 public:
  // The built-in catalog of 25 attributes.
  static const AttributeCatalog& Default();

  // The strings `specs` points to must outlive the catalog (string literals in
  // practice). Tests may build small catalogs this way.
  explicit AttributeCatalog(std::vector<AttributeSpec> specs);
  AttributeCatalog(const AttributeCatalog&) = delete;
  AttributeCatalog& operator=(const AttributeCatalog&) = delete;

  // Looks `name` up ignoring ASCII case ("MAIL" finds "mail"). Returns nullptr
  // for an unknown name. The pointer lives as long as the catalog.
  const AttributeSpec* Find(std::string_view name) const;

  // Every attribute, default set first, in a stable order.
  const std::vector<AttributeSpec>& all() const { return specs_; }

  // The canonical names of the default set (24 for Default()), in catalog order.
  std::vector<std::string> DefaultAllowlist() const;

 private:
  std::vector<AttributeSpec> specs_;
};

}  // namespace writeback

#endif  // WRITEBACK_COMMON_ATTRIBUTES_CATALOG_H_
