/*
 * eddy.hpp: header-only C++17 wrapper over the eddy C API (eddy.h).
 *
 * Everything goes through the C ABI; nothing here is compiled into libeddy.
 *
 *  - Every failing C call throws eddy::Error (status() + what() = the C
 *    message); the eddy_error is freed before the throw.
 *  - Engine, Input, Subscription and ArrowBatch are move-only RAII owners.
 *    A moved-from object holds NULL: calls on it throw
 *    Error(EDDY_ERR_INVALID_ARGUMENT) and its destructor does nothing.
 *  - Subscription::next() returns std::nullopt on timeout and at end of
 *    stream; ended() tells the two apart. Range-for over a Subscription
 *    blocks for each batch and stops at end of stream.
 *  - Subscription::on_batch() runs the function inside Engine::poll on the
 *    polling thread. An exception it throws is caught before it reaches C
 *    and rethrown by the Engine::poll call that ran it (the first one, if
 *    several callbacks threw in the same poll; the others are dropped).
 *    Batches of that poll after the throwing one are still delivered.
 *
 * See docs/migrating-from-cpp.md.
 */
#ifndef EDDY_HPP
#define EDDY_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "eddy.h"

namespace eddy {

/// A failed eddy call: the C status and message.
class Error : public std::runtime_error {
public:
    Error(eddy_status status, const std::string& message) : std::runtime_error(message), status_(status) {}

    eddy_status status() const noexcept { return status_; }
    /// "EDDY_ERR_SQL" etc.
    const char* status_name() const noexcept { return eddy_status_name(static_cast<int>(status_)); }

private:
    eddy_status status_;
};

namespace detail {

/// Throws Error when st is not EDDY_OK; frees err.
inline void check(eddy_status st, eddy_error* err) {
    if (st == EDDY_OK) {
        eddy_error_free(err);
        return;
    }
    std::string msg = err != nullptr ? eddy_error_message(err) : eddy_status_name(static_cast<int>(st));
    eddy_error_free(err);
    throw Error(st, msg);
}

/// Invokes a C function taking `eddy_error **` last and throws on failure.
template <typename F, typename... Args>
inline void call(F f, Args... args) {
    eddy_error* err = nullptr;
    eddy_status st = f(args..., &err);
    check(st, err);
}

/// Exception thrown by a callback, held until the Engine::poll that ran it
/// returns. Callbacks run only inside poll, on the polling thread, so a
/// thread-local slot is exact.
inline std::exception_ptr& pending_callback_exception() {
    thread_local std::exception_ptr slot;
    return slot;
}

/// Number of callback holders deleted so far (all subscriptions). Lets
/// tests check that eddy released each user data exactly once.
inline std::atomic<long> callback_holders_deleted{0};

struct CallbackHolder;

}  // namespace detail

/// Owns an Arrow struct array and its schema (the C Data Interface); releases
/// both in the destructor. Move-only.
class ArrowBatch {
public:
    ArrowBatch() noexcept : array_(), schema_() {}
    ~ArrowBatch() { reset(); }
    ArrowBatch(const ArrowBatch&) = delete;
    ArrowBatch& operator=(const ArrowBatch&) = delete;
    ArrowBatch(ArrowBatch&& o) noexcept : array_(o.array_), schema_(o.schema_) {
        o.array_.release = nullptr;
        o.schema_.release = nullptr;
    }
    ArrowBatch& operator=(ArrowBatch&& o) noexcept {
        if (this != &o) {
            reset();
            array_ = o.array_;
            schema_ = o.schema_;
            o.array_.release = nullptr;
            o.schema_.release = nullptr;
        }
        return *this;
    }

    ArrowArray& array() noexcept { return array_; }
    const ArrowArray& array() const noexcept { return array_; }
    ArrowSchema& schema() noexcept { return schema_; }
    const ArrowSchema& schema() const noexcept { return schema_; }
    /// Rows in the batch (0 once the array was released or moved away).
    int64_t num_rows() const noexcept { return array_.release != nullptr ? array_.length : 0; }
    int64_t num_columns() const noexcept { return schema_.release != nullptr ? schema_.n_children : 0; }

    /// Releases what is still owned (idempotent).
    void reset() noexcept {
        if (array_.release != nullptr) array_.release(&array_);
        if (schema_.release != nullptr) schema_.release(&schema_);
        array_.release = nullptr;
        schema_.release = nullptr;
    }

private:
    ArrowArray array_;
    ArrowSchema schema_;
};

/// A result batch lent to a callback; valid only during the callback.
class BatchView {
public:
    explicit BatchView(const eddy_batch* b) noexcept : b_(b) {}

    std::size_t num_rows() const noexcept { return eddy_batch_num_rows(b_); }
    uint32_t num_columns() const noexcept { return eddy_batch_num_columns(b_); }
    /// Column name; throws EDDY_ERR_INVALID_ARGUMENT when out of range.
    std::string_view column_name(uint32_t col) const {
        const char* n = eddy_batch_column_name(b_, col);
        if (n == nullptr) throw Error(EDDY_ERR_INVALID_ARGUMENT, "column " + std::to_string(col) + " out of range");
        return n;
    }
    eddy_type column_type(uint32_t col) const noexcept { return eddy_batch_column_type(b_, col); }

    bool is_null(std::size_t row, uint32_t col) const {
        bool out = false;
        detail::call(eddy_batch_is_null, b_, row, col, &out);
        return out;
    }

    /// Typed read: T is bool, int32_t, int64_t (BIGINT or TIMESTAMP ms),
    /// float, double or std::string_view (valid during the callback only).
    /// Throws Error: EDDY_ERR_SCHEMA on a type mismatch,
    /// EDDY_ERR_INVALID_ARGUMENT out of range or on a NULL value.
    template <typename T>
    T get(std::size_t row, uint32_t col) const {
        T out{};
        if constexpr (std::is_same_v<T, bool>) {
            detail::call(eddy_batch_get_bool, b_, row, col, &out);
        } else if constexpr (std::is_same_v<T, int32_t>) {
            detail::call(eddy_batch_get_i32, b_, row, col, &out);
        } else if constexpr (std::is_same_v<T, int64_t>) {
            detail::call(eddy_batch_get_i64, b_, row, col, &out);
        } else if constexpr (std::is_same_v<T, float>) {
            detail::call(eddy_batch_get_f32, b_, row, col, &out);
        } else if constexpr (std::is_same_v<T, double>) {
            detail::call(eddy_batch_get_f64, b_, row, col, &out);
        } else if constexpr (std::is_same_v<T, std::string_view>) {
            const char* p = nullptr;
            std::size_t n = 0;
            detail::call(eddy_batch_get_str, b_, row, col, &p, &n);
            out = std::string_view(p, n);
        } else {
            static_assert(sizeof(T) == 0, "eddy::BatchView::get: unsupported type");
        }
        return out;
    }

    /// Copies the batch out (Arrow C Data Interface) so it outlives the callback.
    ArrowBatch export_arrow() const {
        ArrowBatch out;
        detail::call(eddy_batch_export_arrow, b_, &out.array(), &out.schema());
        return out;
    }

    const eddy_batch* handle() const noexcept { return b_; }

private:
    const eddy_batch* b_;
};

namespace detail {
struct CallbackHolder {
    std::function<void(const BatchView&)> fn;
    ~CallbackHolder() { callback_holders_deleted.fetch_add(1, std::memory_order_relaxed); }

    static void trampoline(void* user_data, const eddy_batch* batch) noexcept {
        try {
            static_cast<CallbackHolder*>(user_data)->fn(BatchView(batch));
        } catch (...) {
            std::exception_ptr& slot = pending_callback_exception();
            if (!slot) slot = std::current_exception();
        }
    }
    static void free_fn(void* user_data) noexcept { delete static_cast<CallbackHolder*>(user_data); }
};
}  // namespace detail

/// A producer on one stream. Use it from one thread at a time.
class Input {
public:
    explicit Input(eddy_input* h) noexcept : h_(h) {}
    ~Input() { eddy_input_free(h_); }
    Input(const Input&) = delete;
    Input& operator=(const Input&) = delete;
    Input(Input&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    Input& operator=(Input&& o) noexcept {
        if (this != &o) {
            eddy_input_free(h_);
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }

    uint32_t num_columns() const noexcept { return eddy_input_num_columns(h_); }
    uint32_t column_index(const std::string& name) {
        uint32_t out = 0;
        detail::call(eddy_input_column_index, h_, name.c_str(), &out);
        return out;
    }

    void begin_row() { detail::call(eddy_input_begin_row, h_); }
    void end_row() { detail::call(eddy_input_end_row, h_); }

    void set(uint32_t col, std::nullptr_t) { detail::call(eddy_input_set_null, h_, col); }
    void set(uint32_t col, bool v) { detail::call(eddy_input_set_bool, h_, col, v); }
    void set(uint32_t col, int32_t v) { detail::call(eddy_input_set_i32, h_, col, v); }
    void set(uint32_t col, int64_t v) { detail::call(eddy_input_set_i64, h_, col, v); }
    void set(uint32_t col, float v) { detail::call(eddy_input_set_f32, h_, col, v); }
    void set(uint32_t col, double v) { detail::call(eddy_input_set_f64, h_, col, v); }
    void set(uint32_t col, std::string_view v) { detail::call(eddy_input_set_str, h_, col, v.data(), v.size()); }
    /// Without it a string literal would pick the bool overload.
    void set(uint32_t col, const char* v) { set(col, std::string_view(v)); }
    void set(uint32_t col, const std::string& v) { set(col, std::string_view(v)); }

    /// begin_row, set(0, v0), set(1, v1), ..., end_row. If a set throws
    /// (wrong type, bad index) the row stays open: the C API has no way to
    /// abandon a row, so the next begin_row/append throws "a row is already
    /// open" until end_row() commits it (unset columns NULL).
    template <typename... Values>
    void append(const Values&... values) {
        begin_row();
        uint32_t col = 0;
        (set(col++, values), ...);
        end_row();
    }

    /// Moves `batch` into eddy (released by eddy even on error); `schema` is
    /// borrowed.
    void push_arrow(ArrowArray* batch, const ArrowSchema* schema) {
        detail::call(eddy_input_push_arrow, h_, batch, schema);
    }
    void close() { detail::call(eddy_input_close, h_); }

    eddy_input* handle() const noexcept { return h_; }

private:
    eddy_input* h_;
};

/// A consumer of one stream: pulled with next() / range-for, or pushed
/// through on_batch() and Engine::poll.
class Subscription {
public:
    explicit Subscription(eddy_subscription* h) noexcept : h_(h) {}
    ~Subscription() { eddy_subscription_free(h_); }
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    Subscription(Subscription&& o) noexcept : h_(std::exchange(o.h_, nullptr)), ended_(o.ended_) {}
    Subscription& operator=(Subscription&& o) noexcept {
        if (this != &o) {
            eddy_subscription_free(h_);
            h_ = std::exchange(o.h_, nullptr);
            ended_ = o.ended_;
        }
        return *this;
    }

    uint32_t num_columns() const noexcept { return eddy_subscription_num_columns(h_); }

    /// Next batch, waiting up to timeout_ms (-1 forever, 0 no wait).
    /// std::nullopt on timeout, and at end of stream (then ended() is true).
    /// Other failures throw Error.
    std::optional<ArrowBatch> next(int32_t timeout_ms = -1) {
        ArrowBatch out;
        eddy_error* err = nullptr;
        eddy_status st = eddy_subscription_next(h_, timeout_ms, &out.array(), &out.schema(), &err);
        if (st == EDDY_OK) return std::optional<ArrowBatch>(std::move(out));
        if (st == EDDY_ERR_TIMEOUT || st == EDDY_ERR_END_OF_STREAM) {
            eddy_error_free(err);
            if (st == EDDY_ERR_END_OF_STREAM) ended_ = true;
            return std::nullopt;
        }
        detail::check(st, err);
        return std::nullopt;  // not reached
    }
    /// True once next() saw end of stream.
    bool ended() const noexcept { return ended_; }

    /// Delivers batches to `fn` from inside Engine::poll (see top of file).
    /// Replaces any earlier function (which is then destroyed).
    void on_batch(std::function<void(const BatchView&)> fn) {
        auto* holder = new detail::CallbackHolder{std::move(fn)};
        eddy_error* err = nullptr;
        eddy_status st = eddy_subscription_set_callback(h_, &detail::CallbackHolder::trampoline, holder,
                                                        &detail::CallbackHolder::free_fn, &err);
        if (st != EDDY_OK) {
            // eddy takes the user data only on success.
            delete holder;
            detail::check(st, err);
        }
    }
    /// Removes the callback (back to pull mode).
    void clear_callback() { detail::call(eddy_subscription_set_callback, h_, nullptr, nullptr, nullptr); }

    /// Range-for: blocks for each batch, stops at end of stream.
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = ArrowBatch;
        using difference_type = std::ptrdiff_t;
        using pointer = ArrowBatch*;
        using reference = ArrowBatch&;

        iterator() noexcept = default;
        explicit iterator(Subscription* s) : s_(s) { ++*this; }
        ArrowBatch& operator*() noexcept { return *cur_; }
        ArrowBatch* operator->() noexcept { return &*cur_; }
        iterator& operator++() {
            cur_ = s_->next(-1);
            if (!cur_) s_ = nullptr;  // -1 never times out: end of stream
            return *this;
        }
        bool operator==(const iterator& o) const noexcept { return s_ == o.s_; }
        bool operator!=(const iterator& o) const noexcept { return s_ != o.s_; }

    private:
        Subscription* s_ = nullptr;
        std::optional<ArrowBatch> cur_;
    };
    iterator begin() { return iterator(this); }
    iterator end() noexcept { return iterator(); }

    eddy_subscription* handle() const noexcept { return h_; }

private:
    eddy_subscription* h_;
    bool ended_ = false;
};

/// An engine. Thread-safe, like eddy_engine.
class Engine {
public:
    /// Opens an engine with default options.
    Engine() { open(nullptr); }
    /// Opens an engine with "key=value;key=value" options.
    explicit Engine(const std::string& options) { open(options.c_str()); }
    ~Engine() { eddy_engine_free(h_); }
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;
    Engine(Engine&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    Engine& operator=(Engine&& o) noexcept {
        if (this != &o) {
            eddy_engine_free(h_);
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }

    void execute(const std::string& sql) { detail::call(eddy_engine_execute, h_, sql.c_str()); }
    /// Throws Error(EDDY_ERR_TIMEOUT) when not done in time.
    void flush(int32_t timeout_ms = -1) { detail::call(eddy_engine_flush, h_, timeout_ms); }

    /// Runs pending callbacks on this thread; returns batches delivered.
    /// Rethrows the first exception a callback threw during this call.
    /// Throws Error(EDDY_ERR_CLOSED) once closed and everything delivered.
    std::size_t poll(int32_t timeout_ms) {
        std::exception_ptr& slot = detail::pending_callback_exception();
        std::exception_ptr outer = std::exchange(slot, nullptr);  // nested poll from a callback
        std::size_t delivered = 0;
        eddy_error* err = nullptr;
        eddy_status st = eddy_engine_poll(h_, timeout_ms, &delivered, &err);
        std::exception_ptr mine = std::exchange(slot, outer);
        if (mine) {
            eddy_error_free(err);
            std::rethrow_exception(mine);
        }
        detail::check(st, err);
        return delivered;
    }

    void advance_time(int64_t now_ms) { detail::call(eddy_engine_advance_time, h_, now_ms); }

    std::string stats_json() {
        char* json = nullptr;
        detail::call(eddy_engine_stats_json, h_, &json);
        std::string out(json != nullptr ? json : "");
        eddy_string_free(json);
        return out;
    }

    void close() { detail::call(eddy_engine_close, h_); }

    Input input(const std::string& stream) {
        eddy_input* in = nullptr;
        detail::call(eddy_input_open, h_, stream.c_str(), &in);
        return Input(in);
    }
    Subscription subscribe(const std::string& stream) {
        eddy_subscription* s = nullptr;
        detail::call(eddy_subscribe, h_, stream.c_str(), &s);
        return Subscription(s);
    }

    eddy_engine* handle() const noexcept { return h_; }

private:
    void open(const char* options) { detail::call(eddy_engine_open, options, &h_); }
    eddy_engine* h_ = nullptr;
};

/// Version of the linked library ("0.1.0").
inline const char* version_string() noexcept { return eddy_version_string(); }

}  // namespace eddy

#endif  // EDDY_HPP
