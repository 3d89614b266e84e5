// The Session stream end to end: one lease for the life of a stream, commands
// in order, and the lease back in the pool however the stream ends.

#include <signal.h>

#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/foxpool_server.h"
#include "tests/integration/http_server.h"

#ifndef PYTHON_STUBS_DIR
#error "PYTHON_STUBS_DIR must name the generated Python stubs"
#endif
#ifndef SESSION_HOLDER_PY
#error "SESSION_HOLDER_PY must name tests/integration/session_holder.py"
#endif

namespace foxpool::testing {
namespace {

using ::testing::HasSubstr;
using Stream = grpc::ClientReaderWriter<v1::SessionRequest, v1::SessionResponse>;

class SessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    http_ = new HttpServer();
    http_->Add("/one.html", Page{.body = "<!doctype html><title>one</title>"});
    http_->Start();
    server_ = new FoxpoolServer(2);
    absl::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }
  static void TearDownTestSuite() {
    delete server_;
    delete http_;
  }
  void SetUp() override { ASSERT_TRUE(server_->WaitForIdle(2, absl::Seconds(30))); }

  // Opens a stream and acquires on it; the acquired answer in `*acquired`.
  std::unique_ptr<Stream> Open(grpc::ClientContext* context, v1::AcquireResponse* acquired) {
    std::unique_ptr<Stream> stream = server_->stub().Session(context);
    v1::SessionRequest first;
    first.mutable_acquire()->mutable_labels()->insert({"via", "session"});
    EXPECT_TRUE(stream->Write(first));
    v1::SessionResponse response;
    EXPECT_TRUE(stream->Read(&response));
    EXPECT_TRUE(response.has_acquired()) << response.DebugString();
    *acquired = response.acquired();
    return stream;
  }

  static v1::SessionRequest Evaluate(uint64_t id, const std::string& expression) {
    v1::SessionRequest request;
    request.mutable_command()->set_id(id);
    request.mutable_command()->mutable_evaluate()->set_expression(expression);
    return request;
  }

  static HttpServer* http_;
  static FoxpoolServer* server_;
};

HttpServer* SessionTest::http_ = nullptr;
FoxpoolServer* SessionTest::server_ = nullptr;

TEST_F(SessionTest, AStreamLeasesRunsCommandsInOrderAndReleasesWhenClosed) {
  grpc::ClientContext context;
  v1::AcquireResponse acquired;
  std::unique_ptr<Stream> stream = Open(&context, &acquired);
  EXPECT_EQ(server_->Status().leased(), 1);

  v1::SessionRequest navigate;
  navigate.mutable_command()->set_id(1);
  navigate.mutable_command()->mutable_navigate()->set_url(http_->Url("/one.html"));
  // Every lease_id inside a command is ignored: the stream's lease is used.
  navigate.mutable_command()->mutable_navigate()->set_lease_id("not-a-lease");
  ASSERT_TRUE(stream->Write(navigate));
  ASSERT_TRUE(stream->Write(Evaluate(2, "document.title")));
  ASSERT_TRUE(stream->Write(Evaluate(3, "throw new Error('nope')")));
  ASSERT_TRUE(stream->Write(Evaluate(4, "40 + 2")));

  v1::SessionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.result().id(), 1u);
  EXPECT_EQ(response.result().code(), 0) << response.result().message();
  EXPECT_EQ(response.result().navigate().title(), "one");
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.result().id(), 2u);
  EXPECT_EQ(response.result().evaluate().result_json(), "\"one\"");
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.result().id(), 3u);  // A failed command does not end the stream.
  EXPECT_EQ(response.result().code(), grpc::StatusCode::UNKNOWN);
  EXPECT_THAT(response.result().message(), HasSubstr("nope"));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.result().id(), 4u);
  EXPECT_EQ(response.result().evaluate().result_json(), "42");

  v1::ListLeasesResponse leases;
  ASSERT_TRUE(server_->stub().ListLeases(Deadline().get(), v1::ListLeasesRequest(), &leases).ok());
  ASSERT_EQ(leases.leases_size(), 1);
  EXPECT_EQ(leases.leases(0).window_id(), acquired.window_id());
  EXPECT_EQ(leases.leases(0).labels().at("via"), "session");

  ASSERT_TRUE(stream->WritesDone());
  grpc::Status finished = stream->Finish();
  EXPECT_TRUE(finished.ok()) << finished.error_message();
  EXPECT_TRUE(server_->WaitForIdle(2, absl::Seconds(10)));
  // The lease is gone for unary callers too.
  v1::GetTitleRequest title;
  title.set_lease_id(acquired.lease_id());
  v1::GetTitleResponse got;
  EXPECT_EQ(server_->stub().GetTitle(Deadline().get(), title, &got).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(SessionTest, AStreamMustStartWithAcquire) {
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = server_->stub().Session(&context);
  ASSERT_TRUE(stream->Write(Evaluate(1, "1")));
  v1::SessionResponse response;
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(server_->Status().leased(), 0);
}

TEST_F(SessionTest, ACancelledStreamGivesItsWindowBack) {
  auto context = std::make_unique<grpc::ClientContext>();
  v1::AcquireResponse acquired;
  std::unique_ptr<Stream> stream = Open(context.get(), &acquired);
  ASSERT_EQ(server_->Status().leased(), 1);
  context->TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(server_->WaitForIdle(2, absl::Seconds(10)));
}

TEST_F(SessionTest, AStreamWaitingInTheQueueThatGoesAwayTakesNoWindow) {
  grpc::ClientContext a_context, b_context;
  v1::AcquireResponse a, b;
  std::unique_ptr<Stream> first = Open(&a_context, &a);
  std::unique_ptr<Stream> second = Open(&b_context, &b);
  {
    grpc::ClientContext context;
    std::unique_ptr<Stream> waiting = server_->stub().Session(&context);
    v1::SessionRequest acquire;
    acquire.mutable_acquire();
    ASSERT_TRUE(waiting->Write(acquire));
    ASSERT_TRUE(WaitUntil([&] { return server_->Status().queue_depth() == 1; }, absl::Seconds(5)));
    context.TryCancel();
    waiting->Finish();
  }
  EXPECT_TRUE(WaitUntil([&] { return server_->Status().queue_depth() == 0; }, absl::Seconds(5)));
  first->WritesDone();
  EXPECT_TRUE(first->Finish().ok());
  second->WritesDone();
  EXPECT_TRUE(second->Finish().ok());
  EXPECT_TRUE(server_->WaitForIdle(2, absl::Seconds(10)));
  EXPECT_EQ(server_->Status().leased(), 0);
}

TEST_F(SessionTest, AClientKilledWhileHoldingAStreamLeaseLeaksNothing) {
  // A separate client process (Python, Debian's grpcio) that acquires on a
  // stream and then waits forever; kill -9 ends it without any goodbye.
  std::filesystem::path out = std::filesystem::temp_directory_path() /
                              ("foxpool-holder-" + std::to_string(getpid()) + ".out");
  auto holder = firefox::ChildProcess::Spawn(firefox::SpawnOptions{
      .binary = "/usr/bin/python3",
      .args = {SESSION_HOLDER_PY, "127.0.0.1:" + std::to_string(server_->port())},
      .env = {std::string("PYTHONPATH=") + PYTHON_STUBS_DIR},
      .output_path = out.string(),
  });
  ASSERT_TRUE(holder.ok()) << holder.status();
  ASSERT_TRUE(WaitUntil([&] { return server_->Status().leased() == 1; }, absl::Seconds(20)));

  (*holder)->KillGroup(SIGKILL);
  absl::Time killed = absl::Now();
  ASSERT_TRUE(WaitUntil(
      [&] {
        v1::GetPoolStatusResponse status = server_->Status();
        return status.leased() == 0 && status.idle() == 2;
      },
      absl::Seconds(10)));
  absl::Duration back = absl::Now() - killed;
  std::cout << "window idle again " << absl::FormatDuration(back)
            << " after the client was killed\n";
  holder->reset();
  std::filesystem::remove(out);
}

}  // namespace
}  // namespace foxpool::testing
