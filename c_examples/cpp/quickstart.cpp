// eddy C++ quickstart: the scenario of c_examples/quickstart.c through
// include/eddy.hpp. Declare a stream and a filter query, push rows with
// Input::append, and print the results from a callback that Engine::poll
// runs on this thread.
#include <cstdio>
#include <string>
#include <string_view>

#include "eddy.hpp"

namespace {
struct Reading {
    const char* sensor;
    double celsius;
};
}  // namespace

int main() {
    static const Reading readings[] = {
        {"kitchen", 21.5}, {"attic", 31.0}, {"cellar", 12.25}, {"attic", 33.5},
        {"kitchen", 22.0}, {"server-room", 41.75}, {"cellar", 12.5}, {"attic", 29.9},
    };
    const int expected_alerts = 3;  // celsius > 30

    try {
        std::printf("eddy %s quickstart (C++)\n", eddy::version_string());
        eddy::Engine engine;
        const std::string sql =
            "CREATE STREAM readings (sensor STRING, celsius DOUBLE, seq INT);\n"
            "INSERT INTO alerts SELECT sensor, celsius, seq FROM readings WHERE celsius > 30.0";
        std::printf("executing:\n%s\n", sql.c_str());
        engine.execute(sql);

        int seen = 0;
        eddy::Subscription alerts = engine.subscribe("alerts");
        // Runs inside engine.poll(); the view is valid only during the call.
        alerts.on_batch([&seen](const eddy::BatchView& batch) {
            for (std::size_t row = 0; row < batch.num_rows(); row++) {
                std::string_view sensor = batch.get<std::string_view>(row, 0);
                double celsius = batch.get<double>(row, 1);
                int32_t seq = batch.get<int32_t>(row, 2);
                std::printf("  alert #%d: sensor %.*s reads %.1f C\n", seq, static_cast<int>(sensor.size()),
                            sensor.data(), celsius);
                seen++;
            }
        });

        eddy::Input input = engine.input("readings");
        std::printf("pushing %zu readings\n", sizeof readings / sizeof readings[0]);
        int32_t seq = 0;
        for (const Reading& r : readings) input.append(r.sensor, r.celsius, seq++);

        engine.flush(5000);
        std::printf("alerts (celsius > 30):\n");
        while (seen < expected_alerts) {
            if (engine.poll(1000) == 0) {
                std::fprintf(stderr, "quickstart: no results within 1 s; stats: %s\n", engine.stats_json().c_str());
                return 1;
            }
        }
        input.close();
        engine.close();
        if (seen != expected_alerts) {
            std::fprintf(stderr, "quickstart: expected %d alerts, got %d\n", expected_alerts, seen);
            return 1;
        }
        std::printf("done: %d alerts\n", seen);
        return 0;
    } catch (const eddy::Error& e) {
        std::fprintf(stderr, "quickstart: %s: %s\n", e.status_name(), e.what());
        return 1;
    }
}
