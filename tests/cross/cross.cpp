// The cross-language scenario in C++ through include/eddy.hpp (see
// tests/cross/README.md): rows through Input::append, results delivered to
// callbacks by Engine::poll and read with the typed BatchView getters.
//
//   cross_cpp > out.txt      exit status 1 with a message on stderr on failure
#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "eddy.hpp"

namespace {

constexpr int64_t kRows = 10000;

const char* const kSql =
    "CREATE STREAM Trades (symbol STRING, price DOUBLE, volume BIGINT, ts BIGINT) "
    "WITH (event_time = 'ts', watermark_delay = INTERVAL '200' MILLISECOND);"
    "INSERT INTO Big SELECT symbol, price, volume FROM Trades WHERE price > 140.0;"
    "INSERT INTO PerSec SELECT symbol, window_start, COUNT(*) AS n, SUM(volume) AS vol, "
    "MIN(price) AS lo, MAX(price) AS hi, AVG(price) AS avg_price "
    "FROM Trades WINDOW('tumbling', INTERVAL '1' SECOND) GROUP BY symbol, window_start";

// Column index by name, checked against the expected type.
uint32_t column(const eddy::BatchView& b, const char* name, eddy_type type) {
    for (uint32_t c = 0; c < b.num_columns(); c++) {
        if (b.column_name(c) == name) {
            if (b.column_type(c) != type) throw std::runtime_error(std::string("column ") + name + ": wrong type");
            return c;
        }
    }
    throw std::runtime_error(std::string("no column ") + name + " in the result");
}

// Field appenders: NULL, integers, strings, doubles as the 16 hex digits of
// their IEEE 754 bits (exact, the same in every language).
void put_i64(std::string& s, const eddy::BatchView& b, std::size_t r, uint32_t c) {
    s += '|';
    s += b.is_null(r, c) ? std::string("NULL") : std::to_string(b.get<int64_t>(r, c));
}

void put_f64(std::string& s, const eddy::BatchView& b, std::size_t r, uint32_t c) {
    s += '|';
    if (b.is_null(r, c)) {
        s += "NULL";
        return;
    }
    double v = b.get<double>(r, c);
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016" PRIx64, bits);
    s += hex;
}

void put_str(std::string& s, const eddy::BatchView& b, std::size_t r, uint32_t c) {
    s += '|';
    s += b.is_null(r, c) ? std::string_view("NULL") : b.get<std::string_view>(r, c);
}

// The integer after "key": in json from position from, before end.
long long json_int(const std::string& json, std::size_t from, std::size_t end, const std::string& key) {
    std::size_t k = json.find("\"" + key + "\":", from);
    if (k == std::string::npos || k >= end) throw std::runtime_error("stats without " + key + ": " + json);
    return std::stoll(json.substr(k + key.size() + 3));
}

// The Trades stream's counters and the sum of the queries' late counts.
std::string stats_line(const std::string& json) {
    std::size_t trades = json.find("\"name\":\"Trades\"");
    std::size_t queries = json.find("\"queries\":[");
    if (trades == std::string::npos || queries == std::string::npos)
        throw std::runtime_error("stats without the Trades stream or queries: " + json);
    std::size_t trades_end = json.find('}', trades);
    long long qlate = 0;
    int nq = 0;
    for (std::size_t q = json.find("\"late\":", queries); q != std::string::npos; q = json.find("\"late\":", q + 1)) {
        qlate += std::stoll(json.substr(q + 7));
        nq++;
    }
    if (nq != 2) throw std::runtime_error("stats: expected 2 queries: " + json);
    return "Stats|Trades|events_in=" + std::to_string(json_int(json, trades, trades_end, "events_in")) +
           "|late=" + std::to_string(json_int(json, trades, trades_end, "late")) +
           "|queries_late=" + std::to_string(qlate);
}

int run() {
    std::vector<std::string> lines;
    eddy::Engine eng("overflow=block");
    eng.execute(kSql);

    eddy::Subscription big = eng.subscribe("Big");
    eddy::Subscription per_sec = eng.subscribe("PerSec");
    big.on_batch([&lines](const eddy::BatchView& b) {
        uint32_t sym = column(b, "symbol", EDDY_TYPE_STRING), price = column(b, "price", EDDY_TYPE_DOUBLE),
                 vol = column(b, "volume", EDDY_TYPE_BIGINT);
        for (std::size_t r = 0; r < b.num_rows(); r++) {
            std::string s = "Big";
            put_str(s, b, r, sym);
            put_f64(s, b, r, price);
            put_i64(s, b, r, vol);
            lines.push_back(std::move(s));
        }
    });
    per_sec.on_batch([&lines](const eddy::BatchView& b) {
        uint32_t sym = column(b, "symbol", EDDY_TYPE_STRING), ws = column(b, "window_start", EDDY_TYPE_TIMESTAMP),
                 n = column(b, "n", EDDY_TYPE_BIGINT), vol = column(b, "vol", EDDY_TYPE_BIGINT),
                 lo = column(b, "lo", EDDY_TYPE_DOUBLE), hi = column(b, "hi", EDDY_TYPE_DOUBLE),
                 avg = column(b, "avg_price", EDDY_TYPE_DOUBLE);
        for (std::size_t r = 0; r < b.num_rows(); r++) {
            std::string s = "PerSec";
            put_str(s, b, r, sym);
            put_i64(s, b, r, ws);  // TIMESTAMP reads as int64 epoch milliseconds
            put_i64(s, b, r, n);
            put_i64(s, b, r, vol);
            put_f64(s, b, r, lo);
            put_f64(s, b, r, hi);
            put_f64(s, b, r, avg);
            lines.push_back(std::move(s));
        }
    });

    eddy::Input in = eng.input("Trades");
    for (int64_t i = 0; i < kRows; i++) {
        char sym[8];
        std::snprintf(sym, sizeof sym, "S%03d", static_cast<int>((i * 37) % 20));
        double price = 50.0 + static_cast<double>((i * 7919) % 10000) / 100.0;
        int64_t volume = 1 + (i * 104729) % 1000;
        int64_t ts = INT64_C(1700000000000) + i * 3 + ((i * 13) % 7) * 20 - 60;
        in.append(std::string_view(sym), price, volume, ts);
    }
    in.close();  // the stream's only input: the windows still open fire
    eng.flush();
    std::string stats = stats_line(eng.stats_json());
    eng.close();

    // Callbacks run inside poll; CLOSED once everything was delivered.
    for (;;) {
        try {
            eng.poll(-1);
        } catch (const eddy::Error& e) {
            if (e.status() == EDDY_ERR_CLOSED) break;
            throw;
        }
    }
    lines.push_back(stats);
    std::sort(lines.begin(), lines.end());
    for (const std::string& l : lines) std::cout << l << '\n';
    std::cout.flush();
    if (!std::cout) throw std::runtime_error("cannot write the output");
    return 0;
}

}  // namespace

int main() {
    try {
        return run();
    } catch (const eddy::Error& e) {
        std::cerr << "cross.cpp: " << e.status_name() << ": " << e.what() << '\n';
    } catch (const std::exception& e) {
        std::cerr << "cross.cpp: " << e.what() << '\n';
    }
    return 1;
}
