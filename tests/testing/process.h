// Running a real service binary in a test, as an operator would: spawn it with flags, wait
// for its health check, signal it, wait for its exit code.
#ifndef TOUCHLINE_TESTS_TESTING_PROCESS_H_
#define TOUCHLINE_TESTS_TESTING_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"

namespace touchline::testing {

// A loopback port that was free a moment ago (bound to port 0 and released: the binary binds
// it right after, a narrow race accepted in tests).
int FreePort();

// A child process; killed with SIGKILL on destruction if still running.
class ServiceProcess {
 public:
  // Starts `binary` with `args`, its stderr to `stderr_path`. pid() <= 0 if it failed.
  ServiceProcess(const std::string& binary, std::vector<std::string> args,
                 const std::string& stderr_path);
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;
  ~ServiceProcess();

  pid_t pid() const { return pid_; }
  // Waits for exit; returns the exit code, or -1 on a signal or after `timeout`.
  int Wait(std::chrono::seconds timeout);
  void Kill(int signal);

 private:
  pid_t pid_ = -1;
};

// Polls grpc.health.v1 Check for `service` at `address` until it reports `want` (true) or
// 20 s pass (false).
bool WaitForHealth(const std::string& address, const std::string& service,
                   grpc::health::v1::HealthCheckResponse::ServingStatus want);

// Retries `attempt` every 50 ms for up to `timeout` (20 s by default) until it returns true;
// whether it did. For what arrives through events, whose timing a process-level test does not
// control.
bool Eventually(const std::function<bool()>& attempt,
                std::chrono::milliseconds timeout = std::chrono::seconds(20));

// The whole content of a file ("" if it cannot be read).
std::string ReadFile(const std::string& path);

}  // namespace touchline::testing

#endif  // TOUCHLINE_TESTS_TESTING_PROCESS_H_
