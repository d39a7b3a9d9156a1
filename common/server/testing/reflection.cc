#include "common/server/testing/reflection.h"

#include "grpcpp/client_context.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"

namespace touchline::server::testing {

absl::StatusOr<std::string> ListServicesByReflection(
    const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  grpc::ClientContext context;
  auto call = stub.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &queue);
  // Waits for the step tagged `expected`; false when it failed.
  auto next = [&queue](void* expected) {
    void* tag = nullptr;
    bool ok = false;
    return queue.Next(&tag, &ok) && tag == expected && ok;
  };
  int tag = 0;
  const std::string list_services("\x3a\x00", 2);  // Field 7 (list_services), empty string.
  grpc::Slice slice(list_services);
  const grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer reply;
  grpc::Status status;
  call->StartCall(&tag);
  bool ok = next(&tag);
  if (ok) {
    call->WriteLast(request, grpc::WriteOptions(), &tag);
    ok = next(&tag);
  }
  if (ok) {
    call->Read(&reply, &tag);
    ok = next(&tag);
  }
  call->Finish(&status, &tag);
  next(&tag);
  queue.Shutdown();
  void* left = nullptr;
  for (bool drained_ok = false; queue.Next(&left, &drained_ok);) {
  }
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  grpc::Slice reply_slice;
  if (!ok || !reply.DumpToSingleSlice(&reply_slice).ok()) {
    return absl::InternalError("the reflection call did not complete");
  }
  return std::string(reinterpret_cast<const char*>(reply_slice.begin()), reply_slice.size());
}

}  // namespace touchline::server::testing
