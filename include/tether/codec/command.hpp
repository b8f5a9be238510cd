// Command-phase command bytes (the first payload byte of every client command).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace tether::codec {

enum class Command : std::uint8_t {
    sleep = 0x00,
    quit = 0x01,
    init_db = 0x02,
    query = 0x03,
    field_list = 0x04,
    create_db = 0x05,
    drop_db = 0x06,
    refresh = 0x07,
    shutdown = 0x08,
    statistics = 0x09,
    process_info = 0x0A,
    connect = 0x0B,
    process_kill = 0x0C,
    debug = 0x0D,
    ping = 0x0E,
    time = 0x0F,
    delayed_insert = 0x10,
    change_user = 0x11,
    binlog_dump = 0x12,
    table_dump = 0x13,
    connect_out = 0x14,
    register_slave = 0x15,
    stmt_prepare = 0x16,
    stmt_execute = 0x17,
    stmt_send_long_data = 0x18,
    stmt_close = 0x19,
    stmt_reset = 0x1A,
    set_option = 0x1B,
    stmt_fetch = 0x1C,
    daemon = 0x1D,
    binlog_dump_gtid = 0x1E,
    reset_connection = 0x1F,
    clone = 0x20,
    mariadb_stmt_bulk_execute = 0xFA,
    mariadb_com_multi = 0xFE,
};

std::string_view command_name(std::uint8_t command);

// The 5 bytes of COM_QUIT (sequence id 0).
void append_com_quit(std::vector<std::byte>& out);

}  // namespace tether::codec
