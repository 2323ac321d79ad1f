// The estate-wide calls of the Admin API: GetStatus (counts by status from
// one grouped query per forest, agents from the store and the dispatcher's
// live sessions) and ImportMailboxes (many adds and updates, all or nothing
// in one store transaction, errors per entry naming the line and field).
#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/attributes/catalog.h"
#include "common/attributes/validation.h"
#include "common/base/log.h"
#include "common/grpc_status.h"
#include "common/identity/anchor.h"
#include "controller/admin/admin_service.h"
#include "controller/admin/mailbox_edits.h"
#include "google/protobuf/struct.pb.h"

namespace writeback::controller {
namespace {

namespace v1 = writeback::v1;

void AddCount(v1::ForestStatus* f, v1::MailboxStatus status, int64_t n) {
  f->set_total(f->total() + n);
  switch (status) {
    case v1::IN_SYNC:
      f->set_in_sync(f->in_sync() + n);
      break;
    case v1::PENDING:
      f->set_pending(f->pending() + n);
      break;
    case v1::IN_FLIGHT:
      f->set_in_flight(f->in_flight() + n);
      break;
    case v1::RETRY_WAIT:
      f->set_retry_wait(f->retry_wait() + n);
      break;
    case v1::CONFLICT_HOLD:
      f->set_conflicted(f->conflicted() + n);
      break;
    case v1::QUARANTINED:
      f->set_quarantined(f->quarantined() + n);
      break;
    case v1::HELD:
      f->set_held(f->held() + n);
      break;
    default:
      f->set_lifecycle(f->lifecycle() + n);
      break;
  }
  f->set_queue_depth(f->pending() + f->in_flight() + f->retry_wait());
}

// The edits an import entry's attributes mean: a multi-valued attribute's
// set is replaced, a single-valued one set, one with no values cleared.
// Sets *field and returns the error for an unknown attribute or several
// values of a single-valued one.
absl::StatusOr<std::vector<v1::AttributeEdit>> ImportEdits(const v1::AttributeMap& attributes,
                                                           std::string* field) {
  std::vector<v1::AttributeEdit> edits;
  for (const auto& [name, values] : attributes.attributes()) {
    *field = absl::StrCat("attributes.", QuoteForError(name));
    const AttributeSpec* spec = AttributeCatalog::Default().Find(name);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(QuoteForError(name), " is not an attribute writeback carries"));
    }
    v1::AttributeEdit edit;
    edit.set_attribute(std::string(spec->name));
    if (values.values().empty()) {
      edit.set_clear(true);
    } else if (spec->multi_valued) {
      *edit.mutable_replace() = values;
    } else if (values.values_size() > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(spec->name), " is single-valued; give one value"));
    } else {
      edit.set_set(values.values(0));
    }
    edits.push_back(std::move(edit));
  }
  field->clear();
  return edits;
}

// The field an ApplyEdits error names (its message starts with the
// attribute), for the error report.
std::string FieldOfEditError(const absl::Status& s, const std::vector<v1::AttributeEdit>& edits) {
  for (const auto& e : edits) {
    if (absl::StartsWithIgnoreCase(s.message(), e.attribute())) {
      return absl::StrCat("attributes.", e.attribute());
    }
  }
  return "attributes";
}

// What an import entry does to a mailbox already registered: the attributes
// of its line become desired values, a new generation when any changed. An
// import never moves a mailbox to another forest or anchor. On an error
// *field names the entry's field at fault; *gen is the generation stored
// (0: nothing changed).
std::function<absl::Status(MailboxRecord&)> UpdateForImport(
    google::protobuf::RepeatedPtrField<v1::AttributeEdit> edit_list,
    std::vector<v1::AttributeEdit> edits, std::string forest, std::string anchor, int64_t now_ms,
    std::string* field, uint64_t* gen) {
  return [=](MailboxRecord& m) -> absl::Status {
    *gen = 0;
    if (m.forest != forest) {
      *field = "forest";
      return absl::FailedPreconditionError(
          absl::StrCat("mailbox ", m.cloud_id, " belongs to forest \"", m.forest,
                       "\"; an import does not move a mailbox (remove it and import it again)"));
    }
    if (m.source_anchor != anchor) {
      *field = "anchor";
      return absl::FailedPreconditionError(
          absl::StrCat("mailbox ", m.cloud_id,
                       " is registered with another anchor; an import does not re-anchor a "
                       "mailbox"));
    }
    v1::AttributeMap before = m.desired;
    if (absl::Status s = ApplyEdits(edit_list, &m.desired); !s.ok()) {
      *field = FieldOfEditError(s, edits);
      return s;
    }
    if (SameDesiredState(before, m.desired)) return absl::OkStatus();
    m.desired_gen++;
    m.updated_ms = now_ms;
    if (m.status == v1::IN_SYNC) m.status = v1::PENDING;
    *gen = m.desired_gen;
    return absl::OkStatus();
  };
}

}  // namespace

grpc::Status AdminService::GetStatus(grpc::ServerContext* context, const v1::GetStatusRequest*,
                                     v1::GetStatusResponse* response) {
  response->set_time_ms(absl::ToUnixMillis(absl::Now()));
  auto forests = store_->ListForests();
  if (!forests.ok()) return ToGrpcStatus(forests.status());
  for (const ForestRecord& f : *forests) {
    v1::ForestStatus* out = response->add_forests();
    v1::Forest view = ForestProto(f);
    out->set_name(f.name);
    out->set_paused(f.paused);
    out->set_pause_reason(f.pause_reason);
    out->set_open_hold_id(view.open_hold_id());
    out->set_held_mailboxes(view.held_mailboxes());
    out->set_connected_agents(view.connected_agents());
    auto counts = store_->CountByStatus(f.name);
    if (!counts.ok()) return ToGrpcStatus(counts.status());
    for (const auto& [status, n] : *counts) AddCount(out, status, n);
    response->set_queue_depth(response->queue_depth() + out->queue_depth());
    response->set_quarantined(response->quarantined() + out->quarantined());
    response->set_conflicted(response->conflicted() + out->conflicted());
    response->set_total_mailboxes(response->total_mailboxes() + out->total());
  }
  v1::ListAgentsRequest every;
  v1::ListAgentsResponse agents;
  if (grpc::Status s = ListAgents(context, &every, &agents); !s.ok()) return s;
  for (const v1::Agent& a : agents.agents()) {
    v1::AgentStatus* out = response->add_agents();
    out->set_agent_id(a.agent_id());
    out->set_forest(a.forest());
    out->set_version(a.version());
    const bool live = a.state() == "connected" || a.state() == "draining";
    out->set_stream_state(!live && a.revoked_ms() != 0 ? "revoked" : a.state());
    out->set_last_seen_ms(a.last_seen_ms());
    out->set_in_flight(a.in_flight());
    out->set_protocol_version(a.protocol_version());
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::ImportMailboxes(grpc::ServerContext* context,
                                           const v1::ImportMailboxesRequest* request,
                                           v1::ImportMailboxesResponse* response) {
  if (request->entries_size() > kMaxImportEntries) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("entries: at most ", kMaxImportEntries,
                                     " per call; send the file in batches"));
  }
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  std::vector<MailboxImport> imports;
  std::vector<std::string> fields(request->entries_size());
  // The generation each entry stored (0: unchanged), for the change-latency metric.
  std::vector<uint64_t> stored_gens(request->entries_size(), 0);
  std::vector<bool> prepared(request->entries_size(), false);
  auto refuse = [response](int64_t line, const std::string& field, absl::string_view message) {
    v1::ImportError* e = response->add_errors();
    e->set_line(line);
    e->set_field(field);
    e->set_message(std::string(message));
  };
  for (int i = 0; i < request->entries_size(); ++i) {
    const v1::ImportEntry& entry = request->entries(i);
    const std::string cloud_id = absl::AsciiStrToLower(entry.cloud_id());
    const std::string forest = absl::AsciiStrToLower(entry.forest());
    if (!IsGuidString(cloud_id)) {
      refuse(entry.line(), "cloud_id",
             absl::StrCat(QuoteForError(entry.cloud_id()),
                          " is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"));
      continue;
    }
    if (forest.empty()) {
      refuse(entry.line(), "forest", "missing");
      continue;
    }
    if (entry.source_anchor().size() != 16) {
      refuse(entry.line(), "anchor",
             absl::StrCat("must be 16 bytes (an objectGUID or ms-DS-ConsistencyGuid), got ",
                          entry.source_anchor().size()));
      continue;
    }
    std::string field;
    auto edits = ImportEdits(entry.attributes(), &field);
    if (!edits.ok()) {
      refuse(entry.line(), field, edits.status().message());
      continue;
    }
    MailboxImport import;
    import.added.cloud_id = cloud_id;
    import.added.forest = forest;
    import.added.source_anchor = entry.source_anchor();
    import.added.status = v1::PENDING;  // the onboarding read comes first
    import.added.updated_ms = now_ms;
    google::protobuf::RepeatedPtrField<v1::AttributeEdit> edit_list(edits->begin(), edits->end());
    if (absl::Status s = ApplyEdits(edit_list, &import.added.desired); !s.ok()) {
      refuse(entry.line(), FieldOfEditError(s, *edits), s.message());
      continue;
    }
    if (!SameDesiredState(v1::AttributeMap(), import.added.desired)) import.added.desired_gen = 1;
    stored_gens[i] = import.added.desired_gen;
    import.update = UpdateForImport(std::move(edit_list), *std::move(edits), forest,
                                    entry.source_anchor(), now_ms, &fields[i], &stored_gens[i]);
    prepared[i] = true;
    imports.push_back(std::move(import));
  }
  // Entries refused before the store are reported; the store still checks
  // the others (forest, anchors) so that every bad entry is named at once.
  std::vector<int> index_of;  // imports[k] is entries(index_of[k])
  for (int i = 0; i < request->entries_size(); ++i) {
    if (prepared[i]) index_of.push_back(i);
  }
  const bool commit = !request->validate_only() && response->errors().empty();
  auto results = store_->ImportMailboxes(imports, commit);
  if (!results.ok()) {
    grpc::Status failed = ToGrpcStatus(results.status());
    if (!request->validate_only()) {
      google::protobuf::Struct summary;
      (*summary.mutable_fields())["entries"].set_number_value(request->entries_size());
      Audit(context, "ImportMailboxes", summary, failed);
    }
    return failed;
  }
  int64_t added = 0, updated = 0;
  for (size_t k = 0; k < results->size(); ++k) {
    const int i = index_of[k];
    const absl::StatusOr<bool>& r = (*results)[k];
    if (r.ok()) {
      (*r ? added : updated)++;
      continue;
    }
    std::string field = fields[i];
    if (field.empty()) {
      field = r.status().code() == absl::StatusCode::kNotFound        ? "forest"
              : r.status().code() == absl::StatusCode::kAlreadyExists ? "anchor"
                                                                      : "";
    }
    refuse(request->entries(i).line(), field, r.status().message());
  }
  std::sort(response->mutable_errors()->begin(), response->mutable_errors()->end(),
            [](const v1::ImportError& a, const v1::ImportError& b) { return a.line() < b.line(); });
  response->set_stored(commit && response->errors().empty());
  if (response->stored()) {
    response->set_added(added);
    response->set_updated(updated);
    for (int i = 0; i < request->entries_size(); ++i) {  // each also wakes the dispatcher
      if (prepared[i] && stored_gens[i] > 0) {
        dispatcher_->Accepted(absl::AsciiStrToLower(request->entries(i).cloud_id()),
                              stored_gens[i]);
      }
    }
    dispatcher_->Wake();  // also when nothing changed
    WB_LOG(INFO) << "mailboxes imported added=" << added << " updated=" << updated;
  }
  if (!request->validate_only()) {
    // One audit record per call with the counts, not every entry.
    google::protobuf::Struct summary;
    auto& f = *summary.mutable_fields();
    f["entries"].set_number_value(request->entries_size());
    if (request->entries_size() > 0) {
      f["first_line"].set_number_value(static_cast<double>(request->entries(0).line()));
      f["last_line"].set_number_value(
          static_cast<double>(request->entries(request->entries_size() - 1).line()));
    }
    f["added"].set_number_value(static_cast<double>(response->added()));
    f["updated"].set_number_value(static_cast<double>(response->updated()));
    f["refused"].set_number_value(response->errors_size());
    Audit(context, "ImportMailboxes", summary, grpc::Status::OK);
  }
  return grpc::Status::OK;
}

}  // namespace writeback::controller
