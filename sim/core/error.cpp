#include "sim/core/error.h"

namespace llmsim {

void throw_internal_error(const char* condition, const std::string& message, const char* file,
                          int line) {
  throw InternalError(std::string("internal error (a simulator bug): ") + message + " [" +
                      condition + " at " + file + ":" + std::to_string(line) + "]");
}

}  // namespace llmsim
