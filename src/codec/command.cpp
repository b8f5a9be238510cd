// Names of command-phase commands, and the COM_QUIT tether sends upstream when a client vanishes.
#include "tether/codec/command.hpp"

#include <array>

namespace tether::codec {

std::string_view command_name(std::uint8_t command) {
    static constexpr std::array<std::string_view, 0x21> names = {
        "COM_SLEEP",          "COM_QUIT",           "COM_INIT_DB",         "COM_QUERY",
        "COM_FIELD_LIST",     "COM_CREATE_DB",      "COM_DROP_DB",         "COM_REFRESH",
        "COM_SHUTDOWN",       "COM_STATISTICS",     "COM_PROCESS_INFO",    "COM_CONNECT",
        "COM_PROCESS_KILL",   "COM_DEBUG",          "COM_PING",            "COM_TIME",
        "COM_DELAYED_INSERT", "COM_CHANGE_USER",    "COM_BINLOG_DUMP",     "COM_TABLE_DUMP",
        "COM_CONNECT_OUT",    "COM_REGISTER_SLAVE", "COM_STMT_PREPARE",    "COM_STMT_EXECUTE",
        "COM_STMT_SEND_LONG_DATA", "COM_STMT_CLOSE", "COM_STMT_RESET",     "COM_SET_OPTION",
        "COM_STMT_FETCH",     "COM_DAEMON",         "COM_BINLOG_DUMP_GTID", "COM_RESET_CONNECTION",
        "COM_CLONE",
    };
    if (command < names.size()) return names[command];
    switch (static_cast<Command>(command)) {
        case Command::mariadb_stmt_bulk_execute: return "COM_STMT_BULK_EXECUTE";
        case Command::mariadb_com_multi: return "COM_MULTI";
        default: return "COM_UNKNOWN";
    }
}

void append_com_quit(std::vector<std::byte>& out) {
    // Header (length 1, sequence id 0) and the command byte.
    constexpr std::array<std::byte, 5> com_quit = {std::byte{0x01}, std::byte{0x00}, std::byte{0x00},
                                                    std::byte{0x00}, std::byte{0x01}};
    out.insert(out.end(), com_quit.begin(), com_quit.end());
}

}  // namespace tether::codec
