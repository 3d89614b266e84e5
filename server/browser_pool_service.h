#pragma once

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "firefox/profile_store.h"
#include "foxpool/v1/browser_pool.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "pool/pool.h"
#include "server/auth.h"
#include "server/commands.h"
#include "server/session_stream.h"

namespace foxpool::server {

// Validates an AcquireRequest (INVALID_ARGUMENT) and turns it into the
// pool's options; the wait ends by `call_deadline` at the latest. The
// lease (and a persistent profile, see ProfileNameFor) is `caller`'s.
absl::StatusOr<pool::AcquireOptions> AcquireOptionsFrom(const v1::AcquireRequest& request,
                                                        absl::Time call_deadline,
                                                        std::string holder,
                                                        const Caller& caller = {});
void FillAcquireResponse(const pool::Grant& grant, v1::AcquireResponse* response);

// Wraps `deliver` so that, once a lease is granted, what `request` asks of
// the window itself (its dialog policy) is applied before the grant is
// delivered. If that fails, the lease ends (the window is reset) and
// `deliver` gets the error instead.
pool::Pool::AcquireDone ConfigureOnGrant(pool::Pool& pool, const v1::AcquireRequest& request,
                                         pool::Pool::AcquireDone deliver,
                                         std::string principal = "");

// foxpool.v1.BrowserPool on gRPC's callback API: adapts requests to the pool
// and the leased window's commands. No handler blocks: each starts its work
// and finishes from the first completion (see UnaryCall). Thread-safe.
class BrowserPoolService final : public foxpool::v1::BrowserPool::CallbackService {
 public:
  // `profiles` may be null (ListProfiles is then empty).
  BrowserPoolService(pool::Pool& pool, ServiceOptions options,
                     firefox::ProfileStore* profiles = nullptr);

  // Tells every open Session stream that the server is draining and how
  // long its lease has left.
  void NotifyDraining(absl::Duration time_left);

  grpc::ServerUnaryReactor* Acquire(grpc::CallbackServerContext* context,
                                    const v1::AcquireRequest* request,
                                    v1::AcquireResponse* response) override;
  grpc::ServerUnaryReactor* Renew(grpc::CallbackServerContext* context,
                                  const v1::RenewRequest* request,
                                  v1::RenewResponse* response) override;
  grpc::ServerUnaryReactor* Release(grpc::CallbackServerContext* context,
                                    const v1::ReleaseRequest* request,
                                    v1::ReleaseResponse* response) override;
  // The window commands, one unary RPC each (see command_list.h).
#define FOXPOOL_DECLARE_RPC(Name, field, Request, Response)                                        \
  grpc::ServerUnaryReactor* Name(grpc::CallbackServerContext* context, const v1::Request* request, \
                                 v1::Response* response) override;
  FOXPOOL_COMMANDS(FOXPOOL_DECLARE_RPC)
#undef FOXPOOL_DECLARE_RPC

  grpc::ServerUnaryReactor* GetPoolStatus(grpc::CallbackServerContext* context,
                                          const v1::GetPoolStatusRequest* request,
                                          v1::GetPoolStatusResponse* response) override;
  grpc::ServerBidiReactor<v1::SessionRequest, v1::SessionResponse>* Session(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* ListProfiles(grpc::CallbackServerContext* context,
                                         const v1::ListProfilesRequest* request,
                                         v1::ListProfilesResponse* response) override;
  grpc::ServerUnaryReactor* DeleteProfile(grpc::CallbackServerContext* context,
                                          const v1::DeleteProfileRequest* request,
                                          v1::DeleteProfileResponse* response) override;
  grpc::ServerUnaryReactor* Drain(grpc::CallbackServerContext* context,
                                  const v1::DrainRequest* request,
                                  v1::DrainResponse* response) override;
  grpc::ServerUnaryReactor* ListLeases(grpc::CallbackServerContext* context,
                                       const v1::ListLeasesRequest* request,
                                       v1::ListLeasesResponse* response) override;
  grpc::ServerUnaryReactor* Revoke(grpc::CallbackServerContext* context,
                                   const v1::RevokeRequest* request,
                                   v1::RevokeResponse* response) override;

 private:
  // A unary command RPC: runs `command` and finishes the call with its
  // result, its error, or the call's cancellation, whichever comes first.
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context,
                                  const Command<Request, Response>& command, const Request& request,
                                  Response* response);

  pool::Pool& pool_;
  const ServiceOptions options_;
  firefox::ProfileStore* const profiles_;
  absl::Mutex streams_mu_;
  absl::flat_hash_map<SessionStream*, std::weak_ptr<SessionStream>> streams_
      ABSL_GUARDED_BY(streams_mu_);
  // Open streams by peer (principal, else IP address), for
  // ServiceOptions::max_streams_per_peer.
  absl::flat_hash_map<std::string, int> streams_per_peer_ ABSL_GUARDED_BY(streams_mu_);
};

}  // namespace foxpool::server
