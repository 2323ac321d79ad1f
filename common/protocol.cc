#include "common/protocol.h"

namespace writeback {

const char* BuildVersion() { return WRITEBACK_VERSION_STRING; }

}  // namespace writeback
