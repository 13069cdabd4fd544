// A typical hand-written C++ event handler, and the same logic moved onto
// eddy through include/eddy.hpp. Both run over the same ticks; the program
// prints both outputs and fails unless they match.
//
// The filtering logic: a tick is an alert when price > 100.0 and
// qty >= 10 and the venue is not "test". The legacy class also keeps running
// state (tick count, last price per symbol) and reports it from onTimer().
// See docs/migrating-from-cpp.md.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "eddy.hpp"

namespace {

struct Tick {
    std::string symbol;
    std::string venue;
    double price;
    int64_t qty;
};

struct Alert {
    std::string symbol;
    double price;
    int64_t qty;
    bool operator==(const Alert& o) const { return symbol == o.symbol && price == o.price && qty == o.qty; }
};

// ---------------------------------------------------------------- before
// Filtering and state by hand, in the event handler.
class LegacyEngine {
public:
    void onEvent(const Tick& t) {
        ticks_++;
        last_price_[t.symbol] = t.price;
        if (t.price > 100.0 && t.qty >= 10 && t.venue != "test") pending_.push_back(Alert{t.symbol, t.price, t.qty});
    }
    // Called periodically: hands out what accumulated since the last timer.
    void onTimer() {
        for (const Alert& a : pending_) {
            std::printf("  legacy alert: %s %.2f x %lld\n", a.symbol.c_str(), a.price, static_cast<long long>(a.qty));
            out.push_back(a);
        }
        pending_.clear();
    }
    long ticks() const { return ticks_; }
    std::vector<Alert> out;

private:
    long ticks_ = 0;
    std::map<std::string, double> last_price_;
    std::vector<Alert> pending_;
};

// ---------------------------------------------------------------- after
// The filter is a query; onEvent only pushes; onTimer polls eddy, which runs
// the callback on this thread. Exceptions from the callback come out of
// poll() in onTimer.
class EddyEngine {
public:
    EddyEngine()
        : engine_("overflow=block;push_timeout_ms=1000"),
          input_(init(engine_)),
          alerts_(engine_.subscribe("alerts")) {
        alerts_.on_batch([this](const eddy::BatchView& b) {
            for (std::size_t r = 0; r < b.num_rows(); r++) {
                Alert a{std::string(b.get<std::string_view>(r, 0)), b.get<double>(r, 1), b.get<int64_t>(r, 2)};
                std::printf("  eddy alert:   %s %.2f x %lld\n", a.symbol.c_str(), a.price,
                            static_cast<long long>(a.qty));
                out.push_back(std::move(a));
            }
        });
    }
    void onEvent(const Tick& t) { input_.append(t.symbol, t.venue, t.price, t.qty); }
    void onTimer() {
        engine_.flush(5000);  // only so the demo is deterministic
        engine_.poll(0);
    }
    std::string stats() { return engine_.stats_json(); }
    std::vector<Alert> out;

private:
    static eddy::Input init(eddy::Engine& e) {
        e.execute(
            "CREATE STREAM ticks (symbol STRING, venue STRING, price DOUBLE, qty BIGINT);"
            "INSERT INTO alerts SELECT symbol, price, qty FROM ticks "
            "WHERE price > 100.0 AND qty >= 10 AND venue <> 'test'");
        return e.input("ticks");
    }
    // Declaration order matters: the engine outlives its input and
    // subscription (they would still be safe to free, but not to use).
    eddy::Engine engine_;
    eddy::Input input_;
    eddy::Subscription alerts_;
};

}  // namespace

int main() {
    const std::vector<Tick> ticks = {
        {"ACME", "xnys", 99.5, 100},  {"ACME", "xnys", 101.25, 5},  {"ACME", "xnys", 102.0, 10},
        {"INIT", "test", 150.0, 50},  {"INIT", "xnas", 150.0, 50},  {"ZETA", "xnas", 100.0, 1000},
        {"ZETA", "xnas", 100.01, 11}, {"ACME", "bats", 120.75, 9},  {"ACME", "bats", 120.75, 12},
    };
    try {
        LegacyEngine legacy;
        EddyEngine modern;
        std::printf("legacy:\n");
        for (std::size_t i = 0; i < ticks.size(); i++) {
            legacy.onEvent(ticks[i]);
            if (i % 4 == 3) legacy.onTimer();
        }
        legacy.onTimer();
        std::printf("eddy:\n");
        for (std::size_t i = 0; i < ticks.size(); i++) {
            modern.onEvent(ticks[i]);
            if (i % 4 == 3) modern.onTimer();
        }
        modern.onTimer();

        if (legacy.out.size() != 4 || !(legacy.out == modern.out)) {
            std::fprintf(stderr, "legacy_engine: outputs differ (%zu legacy vs %zu eddy alerts); stats: %s\n",
                         legacy.out.size(), modern.out.size(), modern.stats().c_str());
            return 1;
        }
        std::printf("match: %zu alerts from %ld ticks\n", modern.out.size(), legacy.ticks());
        return 0;
    } catch (const eddy::Error& e) {
        std::fprintf(stderr, "legacy_engine: %s: %s\n", e.status_name(), e.what());
        return 1;
    }
}
