// The enrollment and renewal services (DESIGN §7; proto/writeback/v1/
// enrollment.proto). Read this header first in controller/enroll.
//
//   EnrollmentService enroll(&ca, trust, store, options);   // enrollment listener
//   RenewalService renew(&ca, trust, store, &dispatcher, options);  // agent listener
//
// Enroll: the token's form, its CA pin (must be this controller's serving
// CA), the token itself (trust_rules.h CheckRedeemable), the forest (must be
// registered) and the agent id (not an agent of another forest) are checked;
// then the CA issues a certificate on the CSR's key and the token is
// redeemed and the certificate recorded in one store transaction. Renew:
// the caller's certificate is checked (agent_certificates.h) and a new one
// is issued for the same identity. Handover: Dispatcher::Recycle for the
// caller's identity and certificate. Nothing secret is logged.
#ifndef WRITEBACK_CONTROLLER_ENROLL_ENROLLMENT_SERVICE_H_
#define WRITEBACK_CONTROLLER_ENROLL_ENROLLMENT_SERVICE_H_

#include "absl/time/time.h"
#include "controller/dispatch/dispatcher.h"
#include "controller/pki/controller_ca.h"
#include "controller/store/store.h"
#include "controller/store/trust_store.h"
#include "writeback/v1/enrollment.grpc.pb.h"

namespace writeback::controller {

struct EnrollmentOptions {
  // Lifetime of agent certificates (ControllerConfig agent_cert_lifetime_s).
  absl::Duration cert_lifetime = absl::Hours(24 * 7);
  // PEM added to the trust bundle agents receive: the operator's CA when the
  // agent listener serves an operator-issued certificate (tls.cert_file).
  std::string extra_trust_pem;
};

class EnrollmentService final : public writeback::v1::Enrollment::Service {
 public:
  EnrollmentService(ControllerCa* ca, TrustStore* trust, Store* store, EnrollmentOptions options)
      : ca_(ca), trust_(trust), store_(store), options_(options) {}

  grpc::Status GetTrustBundle(grpc::ServerContext* context,
                              const writeback::v1::GetTrustBundleRequest* request,
                              writeback::v1::TrustBundle* response) override;
  grpc::Status Enroll(grpc::ServerContext* context, const writeback::v1::EnrollRequest* request,
                      writeback::v1::CertificateResponse* response) override;

 private:
  ControllerCa* const ca_;
  TrustStore* const trust_;
  Store* const store_;
  const EnrollmentOptions options_;
};

class RenewalService final : public writeback::v1::CertificateRenewal::Service {
 public:
  RenewalService(ControllerCa* ca, TrustStore* trust, Store* store, Dispatcher* dispatcher,
                 EnrollmentOptions options)
      : ca_(ca), trust_(trust), store_(store), dispatcher_(dispatcher), options_(options) {}

  grpc::Status Renew(grpc::ServerContext* context, const writeback::v1::RenewRequest* request,
                     writeback::v1::CertificateResponse* response) override;
  grpc::Status Handover(grpc::ServerContext* context,
                        const writeback::v1::HandoverRequest* request,
                        writeback::v1::HandoverResponse* response) override;

 private:
  ControllerCa* const ca_;
  TrustStore* const trust_;
  Store* const store_;
  Dispatcher* const dispatcher_;
  const EnrollmentOptions options_;
};

}  // namespace writeback::controller

#endif  // WRITEBACK_CONTROLLER_ENROLL_ENROLLMENT_SERVICE_H_
