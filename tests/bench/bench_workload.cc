#include "tests/bench/bench_workload.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace writeback::bench {
namespace {

constexpr char kMailDomain[] = "corp.example.test";

std::vector<std::string> Extension1At(const std::string& sam, int g) {
  if (g <= 0) return {};
  return {absl::StrCat("bench-g", g, "-", sam)};
}

std::vector<std::string> ProxyAddressesAt(const std::string& sam, int g) {
  std::vector<std::string> values = {absl::StrCat("SMTP:", sam, "@", kMailDomain)};
  if (g > 0) values.push_back(absl::StrCat("smtp:", sam, ".g", g, "@", kMailDomain));
  return values;
}

const std::vector<std::string>* Find(const RawEntry& e, const std::string& lower_name) {
  auto it = e.attributes.find(lower_name);
  return it == e.attributes.end() ? nullptr : &it->second;
}

bool SameSet(std::vector<std::string> a, std::vector<std::string> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

}  // namespace

std::vector<std::string> BenchAttributes() {
  return {"sAMAccountName", "objectGUID", "extensionAttribute1", "proxyAddresses"};
}

std::vector<BenchUser> UsersFrom(const std::vector<RawEntry>& entries) {
  std::vector<BenchUser> users;
  for (const RawEntry& e : entries) {
    const auto* sam = Find(e, "samaccountname");
    const auto* guid = Find(e, "objectguid");
    if (sam == nullptr || sam->empty() || guid == nullptr || guid->empty()) continue;
    users.push_back({e.dn, sam->front(), guid->front()});
  }
  std::sort(users.begin(), users.end(),
            [](const BenchUser& a, const BenchUser& b) { return a.sam < b.sam; });
  return users;
}

std::vector<BenchChange> ChangesFor(const BenchUser& user, int generation) {
  return {
      {"extensionAttribute1", Extension1At(user.sam, generation - 1),
       Extension1At(user.sam, generation)},
      {"proxyAddresses", ProxyAddressesAt(user.sam, generation - 1),
       ProxyAddressesAt(user.sam, generation)},
  };
}

RawModify RawModifyFor(const BenchUser& user, int generation) {
  RawModify m{user.dn, {}};
  for (BenchChange& c : ChangesFor(user, generation)) {
    if (!c.expected.empty()) m.mods.push_back({RawMod::Op::kDelete, c.attribute, c.expected});
    if (!c.desired.empty()) m.mods.push_back({RawMod::Op::kAdd, c.attribute, c.desired});
  }
  return m;
}

size_t CountAtGeneration(const std::vector<RawEntry>& entries, int generation) {
  size_t count = 0;
  for (const RawEntry& e : entries) {
    const auto* sam = Find(e, "samaccountname");
    if (sam == nullptr || sam->empty()) continue;
    const auto* ext = Find(e, "extensionattribute1");
    const auto* proxy = Find(e, "proxyaddresses");
    std::vector<std::string> ext_values = ext ? *ext : std::vector<std::string>{};
    std::vector<std::string> proxy_values = proxy ? *proxy : std::vector<std::string>{};
    if (ext_values == Extension1At(sam->front(), generation) &&
        SameSet(proxy_values, ProxyAddressesAt(sam->front(), generation))) {
      ++count;
    }
  }
  return count;
}

}  // namespace writeback::bench
