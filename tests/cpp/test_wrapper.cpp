// Tests of include/eddy.hpp: every wrapper method with exact values, errors
// as exceptions, move semantics, callback exceptions and user-data release.
// Exits non-zero when a check fails.
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eddy.hpp"

namespace {

int g_checks = 0;
int g_failed = 0;

void check(bool ok, const char* what, int line) {
    g_checks++;
    if (!ok) {
        g_failed++;
        std::fprintf(stderr, "test_wrapper.cpp:%d: FAILED: %s\n", line, what);
    }
}
#define CHECK(cond) check((cond), #cond, __LINE__)

// Runs f, expects eddy::Error with `status` and a message starting with `prefix`.
template <typename F>
void expect_error(eddy_status status, std::string_view prefix, F&& f, int line) {
    g_checks++;
    try {
        f();
    } catch (const eddy::Error& e) {
        std::string_view msg = e.what();
        if (e.status() != status || msg.substr(0, prefix.size()) != prefix) {
            g_failed++;
            std::fprintf(stderr, "test_wrapper.cpp:%d: FAILED: got %s '%s', want %s '%.*s...'\n", line,
                         e.status_name(), e.what(), eddy_status_name(status), static_cast<int>(prefix.size()),
                         prefix.data());
        }
        return;
    } catch (const std::exception& e) {
        g_failed++;
        std::fprintf(stderr, "test_wrapper.cpp:%d: FAILED: unexpected exception %s\n", line, e.what());
        return;
    }
    g_failed++;
    std::fprintf(stderr, "test_wrapper.cpp:%d: FAILED: no exception, want %s\n", line, eddy_status_name(status));
}
#define EXPECT_ERROR(status, prefix, ...) expect_error(status, prefix, [&]() { __VA_ARGS__; }, __LINE__)

const char* kAllTypes =
    "CREATE STREAM t (b BOOL, i INT, l BIGINT, f FLOAT, d DOUBLE, s STRING, ts TIMESTAMP);"
    "INSERT INTO t_out SELECT * FROM t";

long deleted() { return eddy::detail::callback_holders_deleted.load(); }

void test_errors() {
    EXPECT_ERROR(EDDY_ERR_INVALID_ARGUMENT, "unknown option 'nope'", eddy::Engine("nope=1"));
    eddy::Engine e;
    EXPECT_ERROR(EDDY_ERR_SQL, "line 1:1: expected CREATE STREAM or INSERT INTO, found 'SELEC'", e.execute("SELEC"));
    e.execute("CREATE STREAM s (a INT)");
    EXPECT_ERROR(EDDY_ERR_NOT_FOUND, "unknown stream 'zz'", e.input("zz"));
    EXPECT_ERROR(EDDY_ERR_NOT_FOUND, "unknown stream 'zz'", e.subscribe("zz"));
    EXPECT_ERROR(EDDY_ERR_INVALID_ARGUMENT, "advance_time needs the engine option clock=manual", e.advance_time(5));
    eddy::Input in = e.input("s");
    EXPECT_ERROR(EDDY_ERR_NOT_FOUND, "stream has no column 'q'", in.column_index("q"));
    EXPECT_ERROR(EDDY_ERR_INVALID_ARGUMENT, "no row is open; call begin_row first", in.set(0, int32_t{1}));
    EXPECT_ERROR(EDDY_ERR_SCHEMA, "column 0 'a' is INT; set_f64 cannot set it (use set_i32)", in.append(1.5));
    // The failed append left its row open (no abort in the C API).
    EXPECT_ERROR(EDDY_ERR_INVALID_ARGUMENT, "a row is already open", in.begin_row());
    in.end_row();
    EXPECT_ERROR(EDDY_ERR_INVALID_ARGUMENT, "column index 3 is out of range", in.begin_row(); in.set(3, int32_t{1}));
    in.end_row();
    // Error is a std::runtime_error.
    try {
        e.execute("SELEC");
        CHECK(false);
    } catch (const std::runtime_error& re) {
        CHECK(std::string(re.what()).find("SELEC") != std::string::npos);
    }
}

void test_rows_and_getters() {
    eddy::Engine e;
    e.execute(kAllTypes);
    eddy::Input in = e.input("t");
    CHECK(in.num_columns() == 7);
    CHECK(in.column_index("s") == 5);
    CHECK(in.column_index("TS") == 6);
    eddy::Subscription sub = e.subscribe("t_out");
    CHECK(sub.num_columns() == 7);

    in.append(true, int32_t{-7}, int64_t{1} << 40, 1.5f, 2.25, "héllo", int64_t{1700000000123});
    in.append(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
    in.begin_row();
    in.set(0, false);
    in.set(1, int32_t{42});
    in.set(2, int64_t{-3});
    in.set(3, -0.5f);
    in.set(4, 1e300);
    in.set(5, std::string("x"));
    in.set(6, int64_t{0});
    in.end_row();
    in.begin_row();  // all NULL
    in.set(5, std::string_view("abc", 2));
    in.end_row();

    // Rows may arrive in one batch or several: check each by its global index.
    int calls = 0;
    std::size_t rows = 0;
    std::vector<eddy::ArrowBatch> exported;
    sub.on_batch([&](const eddy::BatchView& b) {
        calls++;
        CHECK(b.handle() != nullptr);
        CHECK(b.num_columns() == 7);
        CHECK(b.column_name(0) == "b");
        CHECK(b.column_name(6) == "ts");
        CHECK(b.column_type(1) == EDDY_TYPE_INT);
        CHECK(b.column_type(6) == EDDY_TYPE_TIMESTAMP);
        CHECK(b.column_type(7) == EDDY_TYPE_INVALID);
        EXPECT_ERROR(EDDY_ERR_INVALID_ARGUMENT, "column 7 out of range", b.column_name(7));
        EXPECT_ERROR(EDDY_ERR_INVALID_ARGUMENT, "", b.get<int32_t>(b.num_rows(), 1));  // row out of range
        EXPECT_ERROR(EDDY_ERR_INVALID_ARGUMENT, "", b.is_null(0, 9));
        for (std::size_t r = 0; r < b.num_rows(); r++, rows++) {
            switch (rows) {
                case 0:
                    CHECK(b.get<bool>(r, 0) == true);
                    CHECK(b.get<int32_t>(r, 1) == -7);
                    CHECK(b.get<int64_t>(r, 2) == (int64_t{1} << 40));
                    CHECK(b.get<float>(r, 3) == 1.5f);
                    CHECK(b.get<double>(r, 4) == 2.25);
                    CHECK(b.get<std::string_view>(r, 5) == "h\xc3\xa9llo");
                    CHECK(b.get<int64_t>(r, 6) == 1700000000123);
                    for (uint32_t c = 0; c < 7; c++) CHECK(!b.is_null(r, c));
                    EXPECT_ERROR(EDDY_ERR_SCHEMA, "", b.get<double>(r, 1));
                    EXPECT_ERROR(EDDY_ERR_SCHEMA, "", b.get<std::string_view>(r, 0));
                    EXPECT_ERROR(EDDY_ERR_SCHEMA, "", b.get<int32_t>(r, 2));
                    break;
                case 1:
                    for (uint32_t c = 0; c < 7; c++) CHECK(b.is_null(r, c));
                    EXPECT_ERROR(EDDY_ERR_INVALID_ARGUMENT, "", b.get<int32_t>(r, 1));  // NULL
                    break;
                case 2:
                    CHECK(b.get<bool>(r, 0) == false);
                    CHECK(b.get<int32_t>(r, 1) == 42);
                    CHECK(b.get<int64_t>(r, 2) == -3);
                    CHECK(b.get<float>(r, 3) == -0.5f);
                    CHECK(b.get<double>(r, 4) == 1e300);
                    CHECK(b.get<std::string_view>(r, 5) == "x");
                    CHECK(b.get<int64_t>(r, 6) == 0);
                    break;
                case 3:
                    CHECK(b.get<std::string_view>(r, 5) == "ab");
                    CHECK(b.is_null(r, 0));
                    CHECK(b.is_null(r, 6));
                    break;
                default:
                    CHECK(false);
            }
        }
        exported.push_back(b.export_arrow());
    });
    e.flush();
    std::size_t delivered = 0;
    while (rows < 4) {
        std::size_t n = e.poll(1000);
        if (n == 0) break;
        delivered += n;
    }
    CHECK(rows == 4);
    CHECK(delivered == static_cast<std::size_t>(calls));
    CHECK(e.poll(0) == 0);
    int64_t exported_rows = 0;
    for (const eddy::ArrowBatch& x : exported) {
        exported_rows += x.num_rows();
        CHECK(x.num_columns() == 7);
        CHECK(std::strcmp(x.schema().format, "+s") == 0);
        CHECK(std::strcmp(x.schema().children[5]->name, "s") == 0);
    }
    CHECK(exported_rows == 4);

    std::string stats = e.stats_json();
    CHECK(stats.find("\"name\":\"t\",\"events_in\":4") != std::string::npos);
    CHECK(stats.find("\"closed\":false") != std::string::npos);

    in.close();
    EXPECT_ERROR(EDDY_ERR_CLOSED, "", in.append(true));
    e.close();
    CHECK(e.stats_json().find("\"closed\":true") != std::string::npos);
    EXPECT_ERROR(EDDY_ERR_CLOSED, "", e.execute("CREATE STREAM z (a INT)"));
    EXPECT_ERROR(EDDY_ERR_CLOSED, "", e.flush(0));
    EXPECT_ERROR(EDDY_ERR_CLOSED, "", e.close());
    EXPECT_ERROR(EDDY_ERR_CLOSED, "", e.subscribe("t"));
    EXPECT_ERROR(EDDY_ERR_CLOSED, "", e.input("t"));
    EXPECT_ERROR(EDDY_ERR_CLOSED, "", e.poll(0));
}

void test_pull_and_arrow() {
    eddy::Engine e("clock=manual");
    e.advance_time(1000);
    e.execute(
        "CREATE STREAM a (k STRING, v BIGINT); CREATE STREAM c (k STRING, v BIGINT);"
        "INSERT INTO a_out SELECT k, v FROM a; INSERT INTO c_out SELECT k, v * 10 AS v FROM c");
    eddy::Subscription a_out = e.subscribe("a_out");
    eddy::Subscription c_out = e.subscribe("c_out");
    eddy::Input a = e.input("a");
    eddy::Input c = e.input("c");
    CHECK(!a_out.next(0).has_value());  // timeout
    CHECK(!a_out.ended());
    // Feed a_out's batches into c: the array is moved, the schema borrowed.
    int64_t pushed = 0;
    for (int64_t v = 1; v <= 2; v++) {
        a.append(v == 1 ? "x" : "y", v);
        e.flush();
        std::optional<eddy::ArrowBatch> got = a_out.next(1000);
        CHECK(got.has_value() && got->num_rows() == 1 && got->num_columns() == 2);
        if (got) {
            c.push_arrow(&got->array(), &got->schema());
            CHECK(got->array().release == nullptr);
            CHECK(got->schema().release != nullptr);
            pushed++;
        }
    }
    CHECK(pushed == 2);
    e.flush();
    std::vector<std::pair<std::string, int64_t>> c_rows;
    c_out.on_batch([&c_rows](const eddy::BatchView& b) {
        for (std::size_t r = 0; r < b.num_rows(); r++)
            c_rows.emplace_back(std::string(b.get<std::string_view>(r, 0)), b.get<int64_t>(r, 1));
    });
    while (c_rows.size() < 2 && e.poll(1000) > 0) {
    }
    CHECK((c_rows == std::vector<std::pair<std::string, int64_t>>{{"x", 10}, {"y", 20}}));
    // A subscription with a callback cannot be pulled.
    EXPECT_ERROR(EDDY_ERR_INVALID_ARGUMENT, "", c_out.next(0));
    c_out.clear_callback();
    CHECK(!c_out.next(0).has_value());
    // A rejected Arrow batch is still released; the schema is ours.
    eddy::ArrowBatch wrong;
    a.append("z", int64_t{3});
    e.flush();
    std::optional<eddy::ArrowBatch> z = a_out.next(1000);
    CHECK(z.has_value());
    eddy::Engine other;
    other.execute("CREATE STREAM q (n DOUBLE)");
    eddy::Input q = other.input("q");
    if (z) {
        EXPECT_ERROR(EDDY_ERR_SCHEMA, "", q.push_arrow(&z->array(), &z->schema()));
        CHECK(z->array().release == nullptr);
    }
    CHECK(other.stats_json().find("\"rejected\":1") != std::string::npos);
}

void test_moves() {
    eddy::Engine e;
    e.execute("CREATE STREAM s (a INT)");
    eddy::Engine e2(std::move(e));
    EXPECT_ERROR(EDDY_ERR_INVALID_ARGUMENT, "", e.execute("CREATE STREAM s2 (a INT)"));
    EXPECT_ERROR(EDDY_ERR_INVALID_ARGUMENT, "", e.input("s"));
    CHECK(e.handle() == nullptr);
    eddy::Engine e3;
    e3 = std::move(e2);  // frees e3's first engine
    CHECK(e2.handle() == nullptr);
    CHECK(e3.handle() != nullptr);

    eddy::Input in = e3.input("s");
    eddy::Input in2(std::move(in));
    EXPECT_ERROR(EDDY_ERR_INVALID_ARGUMENT, "", in.append(int32_t{1}));
    CHECK(in.num_columns() == 0);
    in = std::move(in2);
    CHECK(in2.handle() == nullptr);

    eddy::Subscription sub = e3.subscribe("s");
    eddy::Subscription sub2(std::move(sub));
    EXPECT_ERROR(EDDY_ERR_INVALID_ARGUMENT, "", sub.next(0));
    CHECK(sub.num_columns() == 0);
    sub = std::move(sub2);
    in.append(int32_t{9});
    e3.flush();
    std::optional<eddy::ArrowBatch> b = sub.next(1000);
    CHECK(b && b->num_rows() == 1);
    eddy::ArrowBatch moved(std::move(*b));
    CHECK(b->array().release == nullptr && b->schema().release == nullptr && b->num_rows() == 0);
    CHECK(moved.num_rows() == 1);
    eddy::ArrowBatch assigned;
    assigned = std::move(moved);
    CHECK(assigned.num_rows() == 1 && moved.num_rows() == 0);
    assigned.reset();
    assigned.reset();
    CHECK(assigned.num_rows() == 0);
}

void test_callbacks() {
    eddy::Engine e;
    e.execute("CREATE STREAM s (a INT); INSERT INTO o SELECT a FROM s; INSERT INTO o2 SELECT a FROM s");
    eddy::Input in = e.input("s");
    auto token = std::make_shared<int>(0);
    long base = deleted();
    {
        eddy::Subscription sub = e.subscribe("o");
        sub.on_batch([token](const eddy::BatchView&) { throw std::runtime_error("first"); });
        CHECK(token.use_count() == 2);
        // Replacing releases the first function exactly once.
        int seen = 0;
        sub.on_batch([token, &seen](const eddy::BatchView& b) {
            seen += static_cast<int>(b.num_rows());
            if (b.get<int32_t>(0, 0) == 13) throw std::runtime_error("unlucky 13");
        });
        CHECK(deleted() == base + 1);
        CHECK(token.use_count() == 2);

        eddy::Subscription sub2 = e.subscribe("o2");
        int seen2 = 0;
        sub2.on_batch([&seen2](const eddy::BatchView& b) { seen2 += static_cast<int>(b.num_rows()); });

        in.append(int32_t{13});
        e.flush();
        bool threw = false;
        try {
            e.poll(1000);
        } catch (const std::runtime_error& x) {
            threw = std::string(x.what()) == "unlucky 13";
        }
        CHECK(threw);
        CHECK(seen == 1);
        // The other subscription's batch of the same poll was delivered, by
        // that poll or the next.
        e.poll(0);
        CHECK(seen2 == 1);
        in.append(int32_t{1});
        e.flush();
        std::size_t n = e.poll(1000);  // no stale exception
        if (n < 2) n += e.poll(1000);
        CHECK(n == 2);
        CHECK(seen == 2 && seen2 == 2);

        // Moving the subscription does not release the function.
        eddy::Subscription moved(std::move(sub));
        CHECK(deleted() == base + 1);
        // on_batch on a moved-from subscription throws and frees the holder.
        EXPECT_ERROR(EDDY_ERR_INVALID_ARGUMENT, "", sub.on_batch([token](const eddy::BatchView&) {}));
        CHECK(deleted() == base + 2);
        CHECK(token.use_count() == 2);
        CHECK(deleted() == base + 2);
    }
    // Both subscriptions freed: each holder released exactly once.
    CHECK(deleted() == base + 4);
    CHECK(token.use_count() == 1);

    // Clearing the callback releases it too.
    {
        eddy::Subscription sub = e.subscribe("o");
        sub.on_batch([token](const eddy::BatchView&) {});
        sub.clear_callback();
        CHECK(deleted() == base + 5);
        CHECK(token.use_count() == 1);
    }
    CHECK(deleted() == base + 5);

    // The subscription freed from inside its own callback.
    {
        auto holder = std::make_unique<eddy::Subscription>(e.subscribe("o"));
        holder->on_batch([&holder, token](const eddy::BatchView&) { holder.reset(); });
        in.append(int32_t{2});
        e.flush();
        CHECK(e.poll(1000) == 1);
        CHECK(!holder);
        CHECK(deleted() == base + 6);
        CHECK(token.use_count() == 1);
    }
}

void test_range_for_after_close() {
    eddy::Subscription sub(nullptr);
    {
        eddy::Engine e;
        e.execute("CREATE STREAM s (a INT); INSERT INTO o SELECT a FROM s WHERE a % 2 = 0");
        sub = e.subscribe("o");
        eddy::Input in = e.input("s");
        for (int32_t i = 0; i < 10; i++) {
            in.append(i);
            if (i % 3 == 0) e.flush();
        }
        e.close();
    }  // the engine and input are freed; the subscription still drains
    int64_t rows = 0, sum = 0;
    for (auto& batch : sub) {
        rows += batch.num_rows();
        const ArrowArray* col = batch.array().children[0];
        const int32_t* values = static_cast<const int32_t*>(col->buffers[1]);
        for (int64_t r = 0; r < col->length; r++) sum += values[col->offset + r];
    }
    CHECK(rows == 5);
    CHECK(sum == 0 + 2 + 4 + 6 + 8);
    CHECK(sub.ended());
    CHECK(!sub.next(0).has_value());
    CHECK(sub.begin() == sub.end());
}

}  // namespace

int main() {
    try {
        CHECK(std::string(eddy::version_string()) == "0.1.0");
        test_errors();
        test_rows_and_getters();
        test_pull_and_arrow();
        test_moves();
        test_callbacks();
        test_range_for_after_close();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "test_wrapper: uncaught exception: %s\n", e.what());
        return 1;
    }
    std::printf("test_wrapper: %d checks, %d failed\n", g_checks, g_failed);
    return g_failed == 0 ? 0 : 1;
}
