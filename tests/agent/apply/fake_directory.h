// An in-memory Directory for unit tests, with Active Directory's
// compare-and-swap semantics:
// - a modify is atomic: all its items apply or none;
// - deleting a value that is absent (or an absent attribute) fails with 16
//   noSuchAttribute; adding a value that is present fails with 20
//   attributeOrValueExists, and so does a second value on a single-valued
//   catalog attribute; a modify of a missing DN fails with 32;
// - string values match ignoring ASCII case (AD's Unicode String rule);
//   binary attributes (objectGUID, mS-DS-ConsistencyGuid) byte for byte.
// Search understands the filters JobApplier builds: "(a=v)" and
// "(|(a=v)(b=v)...)" with \xx-escaped values.
//
//   FakeDirectory dir;
//   dir.AddObject("CN=Ann,OU=Mailboxes,DC=corp,DC=example,DC=test",
//                 {{"objectGUID", {guid}}, {"mail", {"ann@corp.example.test"}}});
//   JobApplier applier(&dir, {});
//   ... applier.Apply(job) ...
//   EXPECT_EQ(dir.modify_calls(), 1);
//   EXPECT_THAT(dir.Get(dn, "mail"), ElementsAre("new@corp.example.test"));
#ifndef WRITEBACK_TESTS_AGENT_APPLY_FAKE_DIRECTORY_H_
#define WRITEBACK_TESTS_AGENT_APPLY_FAKE_DIRECTORY_H_

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "agent/directory/directory.h"
#include "common/attributes/catalog.h"

namespace writeback::agent::testing {

class FakeDirectory : public Directory {
 public:
  using Attributes = std::map<std::string, std::vector<std::string>>;

  explicit FakeDirectory(std::string base_dn = "DC=corp,DC=example,DC=test")
      : base_dn_(std::move(base_dn)) {}

  // Adds or replaces an object; attribute names in any case.
  void AddObject(const std::string& dn, const Attributes& attributes) {
    Attributes& object = objects_[dn];
    object.clear();
    for (const auto& [name, values] : attributes) {
      if (!values.empty()) object[Lower(name)] = values;
    }
  }
  // The values of `attribute` of `dn` (empty when absent).
  std::vector<std::string> Get(const std::string& dn,
                               const std::string& attribute) const {
    auto object = objects_.find(dn);
    if (object == objects_.end()) return {};
    auto it = object->second.find(Lower(attribute));
    return it == object->second.end() ? std::vector<std::string>{} : it->second;
  }
  // Sets `attribute` of `dn` behind the applier's back (a dual writer).
  void Set(const std::string& dn, const std::string& attribute,
           std::vector<std::string> values) {
    if (values.empty()) {
      objects_[dn].erase(Lower(attribute));
    } else {
      objects_[dn][Lower(attribute)] = std::move(values);
    }
  }

  // Adds a deleted object (a tombstone): invisible to Search, found by
  // SearchDeleted (which, like the Show Deleted control, also finds live
  // objects). Give it isDeleted=TRUE as AD does.
  void AddDeletedObject(const std::string& dn, const Attributes& attributes) {
    Attributes& object = deleted_[dn];
    object.clear();
    for (const auto& [name, values] : attributes) {
      if (!values.empty()) object[Lower(name)] = values;
    }
  }

  int search_calls() const { return search_calls_; }
  int search_deleted_calls() const { return search_deleted_calls_; }
  // Every filter searched so far, in order.
  const std::vector<std::string>& filters() const { return filters_; }
  int modify_calls() const { return modify_calls_; }
  int close_calls() const { return close_calls_; }
  const std::vector<Modification>& last_mods() const { return last_mods_; }
  const std::string& last_filter() const { return last_filter_; }

  // Runs before each Modify takes effect (to simulate a concurrent writer).
  std::function<void()> before_modify;
  // Returned by the next Search / Modify instead of doing it.
  std::optional<absl::Status> next_search_error;
  std::optional<absl::Status> next_modify_error;
  std::optional<LdapResult> next_modify_result;

  absl::StatusOr<std::vector<DirectoryEntry>> Search(
      const std::string& base, const std::string& filter,
      const std::vector<std::string>& attributes, int size_limit) override {
    ++search_calls_;
    last_filter_ = filter;
    filters_.push_back(filter);
    if (next_search_error.has_value()) {
      absl::Status s = *next_search_error;
      next_search_error.reset();
      return s;
    }
    return Find(objects_, base, filter, attributes, size_limit);
  }

  absl::StatusOr<std::vector<DirectoryEntry>> SearchDeleted(
      const std::string& base, const std::string& filter,
      const std::vector<std::string>& attributes, int size_limit) override {
    ++search_deleted_calls_;
    std::map<std::string, Attributes> all = objects_;
    all.insert(deleted_.begin(), deleted_.end());
    return Find(all, base, filter, attributes, size_limit);
  }

  absl::StatusOr<std::vector<DirectoryEntry>> Find(
      const std::map<std::string, Attributes>& objects, const std::string& base,
      const std::string& filter, const std::vector<std::string>& attributes,
      int size_limit) const {
    std::vector<std::pair<std::string, std::string>> terms;
    if (!ParseFilter(filter, &terms)) {
      return absl::InvalidArgumentError("fake: unsupported filter " + filter);
    }
    std::vector<DirectoryEntry> out;
    for (const auto& [dn, object] : objects) {
      if (!absl::EndsWithIgnoreCase(dn, base)) continue;
      bool hit = false;
      for (const auto& [attr, value] : terms) {
        auto it = object.find(attr);
        if (it == object.end()) continue;
        for (const std::string& v : it->second) hit = hit || Equal(attr, v, value);
      }
      if (!hit) continue;
      DirectoryEntry entry{dn, {}};
      for (const std::string& a : attributes) {
        auto it = object.find(Lower(a));
        if (it != object.end()) entry.attributes[Lower(a)] = it->second;
      }
      out.push_back(std::move(entry));
      if (size_limit > 0 && static_cast<int>(out.size()) >= size_limit) break;
    }
    return out;
  }

  absl::StatusOr<LdapResult> Modify(const std::string& dn,
                                    const std::vector<Modification>& mods) override {
    ++modify_calls_;
    last_mods_ = mods;
    if (before_modify) before_modify();
    if (next_modify_error.has_value()) {
      absl::Status s = *next_modify_error;
      next_modify_error.reset();
      return s;
    }
    if (next_modify_result.has_value()) {
      LdapResult r = *next_modify_result;
      next_modify_result.reset();
      return r;
    }
    auto object = objects_.find(dn);
    if (object == objects_.end()) return LdapResult{32, "no such object", ""};
    Attributes copy = object->second;  // atomic: work on a copy
    for (const Modification& mod : mods) {
      if (LdapResult r = ApplyOne(mod, &copy); r.code != 0) return r;
    }
    object->second = std::move(copy);
    return LdapResult{};
  }

  std::string BaseDn() const override { return base_dn_; }
  std::string CurrentDc() const override { return current_dc; }
  // What CurrentDc() answers (a failover changes it).
  std::string current_dc = "ldaps://fake-dc.test";
  void Close() override {
    ++close_calls_;
    // Like a cut connection: whatever was outstanding fails.
    for (auto& c : completed_) {
      c.result = absl::UnavailableError("fake: connection closed");
    }
  }

  // Pipelining: the modify takes effect when started; its result waits to be
  // polled, as a server's answer would.
  absl::StatusOr<int> StartModify(const std::string& dn,
                                  const std::vector<Modification>& mods) override {
    if (next_start_error.has_value()) {
      absl::Status s = *next_start_error;
      next_start_error.reset();
      return s;
    }
    int ticket = ++next_ticket_;
    completed_.push_back({ticket, Modify(dn, mods)});
    max_outstanding_ = std::max(max_outstanding_, completed_.size());
    return ticket;
  }
  std::vector<Completion> PollModifies(absl::Duration) override {
    std::vector<Completion> out;
    out.swap(completed_);
    return out;
  }
  size_t OutstandingModifies() const override { return completed_.size(); }
  // The most modifies outstanding at once so far.
  size_t max_outstanding() const { return max_outstanding_; }
  std::optional<absl::Status> next_start_error;

 private:
  std::vector<Completion> completed_;
  int next_ticket_ = 0;
  size_t max_outstanding_ = 0;
  static std::string Lower(const std::string& s) { return absl::AsciiStrToLower(s); }
  static bool IsBinary(const std::string& attr) {
    return attr == "objectguid" || attr == "ms-ds-consistencyguid";
  }
  static bool Equal(const std::string& attr, const std::string& a,
                    const std::string& b) {
    return IsBinary(attr) ? a == b : absl::EqualsIgnoreCase(a, b);
  }
  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = absl::ascii_tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
  }
  // "(a=v)" or "(|(a=v)(b=w)...)" with \xx escapes.
  static bool ParseFilter(const std::string& f,
                          std::vector<std::pair<std::string, std::string>>* terms) {
    std::string body = f;
    if (absl::StartsWith(body, "(|") && absl::EndsWith(body, ")")) {
      body = body.substr(2, body.size() - 3);
    }
    size_t i = 0;
    while (i < body.size()) {
      if (body[i] != '(') return false;
      size_t eq = body.find('=', i);
      size_t close = body.find(')', i);
      if (eq == std::string::npos || close == std::string::npos || eq > close) return false;
      std::string value;
      for (size_t j = eq + 1; j < close; ++j) {
        if (body[j] == '\\' && j + 2 < close + 1) {
          int hi = Hex(body[j + 1]), lo = Hex(body[j + 2]);
          if (hi < 0 || lo < 0) return false;
          value += static_cast<char>(hi * 16 + lo);
          j += 2;
        } else {
          value += body[j];
        }
      }
      terms->emplace_back(Lower(body.substr(i + 1, eq - i - 1)), value);
      i = close + 1;
    }
    return !terms->empty();
  }
  static bool SingleValued(const std::string& attr) {
    const AttributeSpec* spec = AttributeCatalog::Default().Find(attr);
    return spec != nullptr && !spec->multi_valued;
  }
  static LdapResult ApplyOne(const Modification& mod, Attributes* object) {
    const std::string attr = Lower(mod.attribute);
    std::vector<std::string>& values = (*object)[attr];
    switch (mod.op) {
      case ModOp::kReplace:
        values = mod.values;
        break;
      case ModOp::kDelete:
        if (mod.values.empty()) {
          if (values.empty()) return {16, "no such attribute " + mod.attribute, ""};
          values.clear();
        }
        for (const std::string& v : mod.values) {
          auto it = std::find_if(values.begin(), values.end(), [&](const std::string& x) {
            return Equal(attr, x, v);
          });
          if (it == values.end()) return {16, "no such value in " + mod.attribute, ""};
          values.erase(it);
        }
        break;
      case ModOp::kAdd:
        for (const std::string& v : mod.values) {
          for (const std::string& x : values) {
            if (Equal(attr, x, v)) return {20, "value exists in " + mod.attribute, ""};
          }
          if (!values.empty() && SingleValued(attr)) {
            return {20, "single-valued " + mod.attribute + " has a value", ""};
          }
          values.push_back(v);
        }
        break;
    }
    if (values.empty()) object->erase(attr);
    return {};
  }

  std::string base_dn_;
  std::map<std::string, Attributes> objects_;
  std::map<std::string, Attributes> deleted_;
  std::vector<std::string> filters_;
  int search_calls_ = 0;
  int search_deleted_calls_ = 0;
  int modify_calls_ = 0;
  int close_calls_ = 0;
  std::vector<Modification> last_mods_;
  std::string last_filter_;
};

}  // namespace writeback::agent::testing

#endif  // WRITEBACK_TESTS_AGENT_APPLY_FAKE_DIRECTORY_H_
